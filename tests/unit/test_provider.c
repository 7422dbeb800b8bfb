/*
 * test_provider.c: unit tests of libprovider's pieces that need no root:
 * namespace identities, mountinfo unescaping, process state, node spawning
 * on the host (exit status, errors of a failed exec), and the argument checks
 * of the local provider (which must refuse before touching anything).
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
#include <unistd.h>

#include "provider/nodeproc.h"
#include "provider/provider.h"

static void test_ns_ids(void **state)
{
	struct ns_id a, b;
	assert_int_equal(ns_id_of("/proc/self/ns/net", &a), 0);
	assert_int_equal(ns_id_of_pid(getpid(), "net", &b), 0);
	assert_true(ns_id_equal(&a, &b));
	assert_int_equal(ns_id_of_pid(getpid(), "mnt", &b), 0);
	assert_false(ns_id_equal(&a, &b));
	/* A plain file is no namespace (a /run/netns name whose bind is elsewhere). */
	assert_int_equal(ns_id_of("/proc/self/status", &a), -ENOTNAM);
	assert_int_equal(ns_id_of("/nonexistent/netns", &a), -ENOENT);
}

static void test_mountinfo_unescape(void **state)
{
	char a[] = "/var/tmp/with\\040space\\011tab\\134back";
	mountinfo_unescape(a);
	assert_string_equal(a, "/var/tmp/with space\ttab\\back");
	char b[] = "/plain/path";
	mountinfo_unescape(b);
	assert_string_equal(b, "/plain/path");
	char c[] = "/odd\\09x\\";  /* not an octal escape: kept as is */
	mountinfo_unescape(c);
	assert_string_equal(c, "/odd\\09x\\");
}

static void test_pid_gone(void **state)
{
	assert_false(pid_gone(getpid()));
	assert_true(pid_gone(0x3fffffff));
}

static void test_spawn_on_host(void **state)
{
	char *err = NULL;
	int status = -1;
	char *const ok_argv[] = { "sh", "-c", "exit 7", NULL };
	struct spawn_req req = { .argv = ok_argv, .mode = SPAWN_WAIT };
	assert_int_equal(node_spawn(&req, &status, &err), 0);
	assert_int_equal(status, 7);
	char *const kill_argv[] = { "sh", "-c", "kill -9 $$", NULL };
	req.argv = kill_argv;
	assert_int_equal(node_spawn(&req, &status, &err), 0);
	assert_int_equal(status, 128 + 9);
	char *const bad_argv[] = { "no-such-program-for-stratus", NULL };
	req.argv = bad_argv;
	assert_int_equal(node_spawn(&req, &status, &err), -ENOENT);
	assert_non_null(err);
	assert_non_null(strstr(err, "executing the program"));
	free(err);
	err = NULL;
	req.argv = ok_argv;
	req.holder = 0x3fffffff; /* no such process */
	assert_true(node_spawn(&req, &status, &err) < 0);
	assert_non_null(strstr(err, "still running"));
	free(err);
}

static void test_spawn_output_to_fd(void **state)
{
	char path[] = "/tmp/stratus-test-spawn.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	char *const argv[] = { "sh", "-c", "echo out; echo err >&2", NULL };
	struct spawn_req req = { .argv = argv, .mode = SPAWN_WAIT, .out_fd = fd };
	int status = -1;
	char *err = NULL;
	assert_int_equal(node_spawn(&req, &status, &err), 0);
	assert_int_equal(status, 0);
	char buf[64] = "";
	assert_int_equal(pread(fd, buf, sizeof(buf) - 1, 0), 8);
	assert_string_equal(buf, "out\nerr\n");
	close(fd);
	unlink(path);
}

static void test_local_checks_refuse_early(void **state)
{
	char *err = NULL;
	const struct provider_ops *p = &provider_local;
	assert_int_equal(p->network_up("bad name!", "10.1.2.1", 24, &err), -EINVAL);
	assert_non_null(strstr(err, "bad bridge name"));
	assert_int_equal(p->network_up("averyveryverylongbridge", "10.1.2.1", 24, &err), -EINVAL);
	assert_int_equal(p->network_up("stok", "10.1.2", 24, &err), -EINVAL);
	assert_int_equal(p->network_up("stok", "10.1.2.1", 31, &err), -EINVAL);
	assert_int_equal(p->network_down("bad/name", &err), -EINVAL);
	/* An absent bridge is already down. */
	assert_int_equal(p->network_down("stnosuchbr0", &err), 0);

	struct node_spec s = { .name = "-bad", .ip = "10.1.2.3", .prefix_len = 24, .bridge = "x" };
	struct node_handle h;
	assert_int_equal(p->create(&s, &h, &err), -EINVAL);
	assert_non_null(strstr(err, "bad node name"));
	s.name = "good-name";
	s.ip = "300.1.2.3";
	assert_int_equal(p->create(&s, &h, &err), -EINVAL);
	s.ip = "10.1.2.3";
	assert_int_equal(p->create(&s, &h, &err), -ENODEV); /* no such bridge */
	assert_non_null(strstr(err, "bring the cluster network up first"));

	/* destroy touches only names of its own patterns, and is idempotent on nothing. */
	struct node_handle foreign = { .holder_pid = 1 };
	snprintf(foreign.netns, sizeof(foreign.netns), "somebody-elses");
	assert_int_equal(p->destroy(NULL, &foreign, &err), -EINVAL);
	struct node_handle other_veth = { 0 };
	snprintf(other_veth.veth, sizeof(other_veth.veth), "eth0");
	assert_int_equal(p->destroy(NULL, &other_veth, &err), -EINVAL);
	struct node_handle gone = { 0 };
	snprintf(gone.netns, sizeof(gone.netns), "st-unit-test-00000000");
	snprintf(gone.veth, sizeof(gone.veth), "stv00000000");
	assert_int_equal(p->destroy(NULL, &gone, &err), 0);
	assert_false(p->alive(NULL, &gone));
	/* pid 1 is no holder of ours: not alive, whatever its namespaces */
	gone.holder_pid = 1;
	assert_false(p->alive(NULL, &gone));
	char *const argv[] = { "true", NULL };
	assert_int_equal(p->exec(&gone, argv, &err), -ESRCH);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ns_ids),
		cmocka_unit_test(test_mountinfo_unescape),
		cmocka_unit_test(test_pid_gone),
		cmocka_unit_test(test_spawn_on_host),
		cmocka_unit_test(test_spawn_output_to_fd),
		cmocka_unit_test(test_local_checks_refuse_early),
	};
	return cmocka_run_group_tests_name("provider", tests, NULL, NULL);
}
