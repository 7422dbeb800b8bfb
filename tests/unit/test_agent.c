/*
 * test_agent.c: unit tests of libagent (src/agent): making log text safe for
 * JSON, configuration lookups in the node document, script ordering and
 * names, markers, stop scripts (order, no markers, stop at the first failure).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "common/util.h"

static void test_sanitize_keeps_text_and_utf8(void **state)
{
	const char in[] = "héllo\tworld\n€ ok";
	char *s = text_sanitize(in, strlen(in));
	assert_string_equal(s, in);
	free(s);
}

static void test_sanitize_repairs_bad_bytes(void **state)
{
	/* invalid lead byte, truncated sequence, overlong NUL, surrogate, control chars */
	const char in[] = "a\xff" "b\xe2\x82" "c\xc0\x80" "d\xed\xa0\x80" "e\x01\x1b[0m\x7f";
	char *s = text_sanitize(in, sizeof(in) - 1);
	assert_non_null(s);
	json_t *j = json_string(s);
	assert_non_null(j); /* jansson accepts it: valid UTF-8 */
	json_decref(j);
	assert_int_equal(strncmp(s, "a?b", 3), 0);
	assert_null(strchr(s, '\x1b'));
	assert_null(strchr(s, '\x7f'));
	free(s);
}

static void test_tail_file(void **state)
{
	char path[] = "/tmp/stratus-test-tail.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	/* 3000 bytes of "€" (3 bytes each): a tail of 100 bytes cuts one in two. */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(write(fd, "\xe2\x82\xac", 3), 3);
	assert_int_equal(write(fd, "END\n", 4), 4);
	close(fd);
	char *t = NULL;
	assert_int_equal(text_tail_file(path, 100, &t), 0);
	assert_true(strlen(t) <= 100);
	assert_int_equal(strncmp(t, "\xe2\x82\xac", 3), 0); /* starts on a whole character */
	assert_string_equal(t + strlen(t) - 4, "END\n");
	free(t);
	assert_int_equal(text_tail_file(path, 1 << 20, &t), 0);
	assert_int_equal(strlen(t), 3004);
	free(t);
	unlink(path);
	assert_int_equal(text_tail_file(path, 10, &t), -ENOENT);
}

static void test_config_lookup(void **state)
{
	json_t *doc = json_loads("{\"name\":\"c-execute-1\",\"ip\":\"10.1.2.3\","
				 "\"cluster\":{\"name\":\"c\",\"parameters\":{\"MaxNodes\":8}},"
				 "\"configuration\":{\"slurm.role\":\"execute\",\"slurm.cores\":4,"
				 "\"flag\":true}}", 0, NULL);
	assert_non_null(doc);
	char *s = nodecfg_format(nodecfg_lookup(doc, "slurm.role"));
	assert_string_equal(s, "execute");
	free(s);
	s = nodecfg_format(nodecfg_lookup(doc, "slurm.cores"));
	assert_string_equal(s, "4");
	free(s);
	s = nodecfg_format(nodecfg_lookup(doc, "flag"));
	assert_string_equal(s, "true");
	free(s);
	s = nodecfg_format(nodecfg_lookup(doc, "cluster.parameters.MaxNodes"));
	assert_string_equal(s, "8");
	free(s);
	s = nodecfg_format(nodecfg_lookup(doc, "ip"));
	assert_string_equal(s, "10.1.2.3");
	free(s);
	assert_string_equal(nodecfg_cluster_name(doc), "c");
	assert_null(nodecfg_lookup(doc, "slurm.missing"));
	assert_null(nodecfg_lookup(doc, "ip.deeper"));
	assert_null(nodecfg_lookup(doc, ""));
	assert_null(nodecfg_lookup(doc, "cluster..name"));
	json_decref(doc);
	doc = json_loads("{\"cluster\":\"plain\",\"ip\":\"1.2.3.4\","
			 "\"cluster_info\":{\"name\":\"plain\",\"parameters\":{\"P\":\"v\"}}}", 0, NULL);
	assert_string_equal(nodecfg_cluster_name(doc), "plain");
	/* stratusd's shape: "cluster" is the name, details in "cluster_info" */
	assert_string_equal(json_string_value(nodecfg_lookup(doc, "cluster.parameters.P")), "v");
	assert_null(nodecfg_lookup(doc, "ip."));
	json_decref(doc);
}

static void test_safe_names(void **state)
{
	assert_true(agent_safe_name("10-setup.sh"));
	assert_true(agent_safe_name("with space"));
	assert_false(agent_safe_name(""));
	assert_false(agent_safe_name(NULL));
	assert_false(agent_safe_name("."));
	assert_false(agent_safe_name(".."));
	assert_false(agent_safe_name(".hidden"));
	assert_false(agent_safe_name("a/b"));
	assert_false(agent_safe_name("tab\there"));
	char m[256];
	assert_int_equal(runner_marker_path("/s", "p", "sp", "10-a.sh", m, sizeof(m)), 0);
	assert_string_equal(m, "/s/done/p/sp/10-a.sh");
	assert_int_equal(runner_marker_path("/s", "..", "sp", "x", m, sizeof(m)), -EINVAL);
	assert_int_equal(runner_marker_path("/s", "p", "sp", "x", m, 8), -ENAMETOOLONG);
}

static void touch(const char *dir, const char *name)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT, 0755);
	assert_true(fd >= 0);
	close(fd);
}

static void test_list_scripts_order(void **state)
{
	char dir[] = "/tmp/stratus-test-spec.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char **names = NULL;
	size_t n = 99;
	/* No scripts folder: a spec with nothing to run. */
	assert_int_equal(runner_list_scripts(dir, &names, &n), 0);
	assert_int_equal(n, 0);
	char sd[256];
	snprintf(sd, sizeof(sd), "%s/scripts", dir);
	assert_int_equal(mkdir(sd, 0755), 0);
	touch(sd, "20-b.sh");
	touch(sd, "10-a.sh");
	touch(sd, "9-c.sh");
	touch(sd, "B-upper");
	touch(sd, ".hidden");
	char sub[300];
	snprintf(sub, sizeof(sub), "%s/subdir", sd);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(runner_list_scripts(dir, &names, &n), 0);
	assert_int_equal(n, 4);
	/* byte order, as `LC_ALL=C ls` */
	assert_string_equal(names[0], "10-a.sh");
	assert_string_equal(names[1], "20-b.sh");
	assert_string_equal(names[2], "9-c.sh");
	assert_string_equal(names[3], "B-upper");
	runner_free_list(names, n);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* Stop scripts: reverse lexical order, "stop/NAME" in reports, no markers,
 * the first failure ends the run with the contract's reason. */
struct seen { char names[8][64]; int n; };
static void record(void *ctx, const struct script_event *ev)
{
	struct seen *s = ctx;
	if (strcmp(ev->status, "started") && s->n < 8)
		snprintf(s->names[s->n++], sizeof(s->names[0]), "%s %s %d", ev->script, ev->status, ev->exit_code);
}

static void write_stop(const char *dir, const char *name, const char *body)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/stop/%s", dir, name);
	assert_int_equal(util_write_file_atomic(p, body, strlen(body), 0755), 0);
}

static void test_stop_scripts(void **state)
{
	char dir[] = "/tmp/stratus-test-stop.XXXXXX", sub[600], out[700];
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/stop", dir);
	assert_int_equal(util_mkdirs(sub, 0755), 0);
	snprintf(out, sizeof(out), "%s/order", dir);
	char body[900];
	snprintf(body, sizeof(body), "#!/bin/sh\necho 10 >>%s\n", out);
	write_stop(dir, "10-a", body);
	snprintf(body, sizeof(body), "#!/bin/sh\necho 20 >>%s\n", out);
	write_stop(dir, "20-b", body);
	struct seen seen = { .n = 0 };
	struct runner r = { .state_dir = dir, .node_name = "n", .cluster = "c", .report = record, .ctx = &seen,
			    .timeout_ms = 10000 };
	char *reason = NULL;
	assert_int_equal(runner_run_stop(&r, "p", "s", dir, &reason), 0);
	assert_int_equal(runner_run_stop(&r, "p", "s", dir, &reason), 0); /* again: no markers */
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(util_read_file(out, 4096, &text, &len), 0);
	assert_string_equal(text, "20\n10\n20\n10\n");
	free(text);
	assert_int_equal(seen.n, 4);
	assert_string_equal(seen.names[0], "stop/20-b succeeded 0");
	assert_string_equal(seen.names[1], "stop/10-a succeeded 0");

	/* 30-c fails: 20-b and 10-a do not run after it. */
	write_stop(dir, "30-c", "#!/bin/sh\nexit 5\n");
	unlink(out);
	seen.n = 0;
	assert_int_equal(runner_run_stop(&r, "p", "s", dir, &reason), 1);
	assert_string_equal(reason, "stop script s/stop/30-c exited 5");
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.names[0], "stop/30-c failed 5");
	assert_int_not_equal(access(out, F_OK), 0);
	free(reason);

	/* A spec without stop/ has nothing to do. */
	char none[] = "/tmp/stratus-test-nostop.XXXXXX";
	assert_non_null(mkdtemp(none));
	reason = NULL;
	assert_int_equal(runner_run_stop(&r, "p", "s", none, &reason), 0);
	assert_null(reason);
	char *rm[] = { "rm", "-rf", dir, none, NULL };
	pid_t pid = fork();
	if (pid == 0) {
		execvp(rm[0], rm);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sanitize_keeps_text_and_utf8),
		cmocka_unit_test(test_sanitize_repairs_bad_bytes),
		cmocka_unit_test(test_tail_file),
		cmocka_unit_test(test_config_lookup),
		cmocka_unit_test(test_safe_names),
		cmocka_unit_test(test_list_scripts_order),
		cmocka_unit_test(test_stop_scripts),
	};
	return cmocka_run_group_tests_name("agent", tests, NULL, NULL);
}
