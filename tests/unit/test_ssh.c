/*
 * test_ssh.c: unit tests of the ssh provider's checks that need no host:
 * which install directories it accepts (it removes them at release), the
 * /etc/hosts block it makes from a cluster's hosts file, handles, and the
 * refusal of bad targets before ssh is ever run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "provider/ssh.h"

static void test_install_dir(void **state)
{
	const char *good[] = { "/opt/stratus", "/srv/stratus-node", "/opt/x/y", "/var/lib/stratus", "/data/st_1" };
	const char *bad[] = { NULL, "", "/", "/opt", "relative/dir", "/opt/stratus/", "/opt//stratus",
			      "/opt/../etc", "/opt/.hidden", "/usr/local", "/etc/stratus", "/var/lib", "/home/x",
			      "/root/x", "/tmp/x", "/opt/a b", "/opt/a;rm", "/opt/$(x)", "/opt/a'b", "/proc/1" };
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (!ssh_valid_install_dir(good[i]))
			fail_msg("'%s' should be accepted", good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (ssh_valid_install_dir(bad[i]))
			fail_msg("'%s' should be refused", bad[i] ? bad[i] : "(null)");
}

static void test_hosts_block(void **state)
{
	char path[] = "/var/tmp/test_ssh_hosts.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text =
		"# written by stratusd\n"
		"127.0.0.1\tlocalhost\n"
		"::1\tlocalhost ip6-localhost\n"
		"10.77.0.1\tstratus-manager\n"
		"10.1.2.11\tc-head\n"
		"10.1.2.12   c-execute-1\n"
		"10.1.2.13\tbad;name\n"
		"not-an-ip\tc-x\n"
		"127.0.1.1\tloopy\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	char *out = NULL, *err = NULL;
	assert_int_equal(ssh_hosts_block(path, "10.1.2.1", &out, &err), 0);
	assert_string_equal(out, "10.1.2.1\tstratus-manager\n10.1.2.11\tc-head\n10.1.2.12\tc-execute-1\n");
	free(out);
	out = NULL;
	assert_int_equal(ssh_hosts_block(path, "not an address", &out, &err), -EINVAL);
	assert_non_null(err);
	assert_non_null(strstr(err, "manager address"));
	free(err);
	err = NULL;
	unlink(path);
	assert_true(ssh_hosts_block(path, "10.1.2.1", &out, &err) < 0);
	assert_non_null(strstr(err, path));
	free(err);
}

static void test_handles(void **state)
{
	struct node_handle h = { 0 };
	assert_false(ssh_is_handle(&h));
	snprintf(h.netns, sizeof(h.netns), "st-node-1234abcd");
	assert_false(ssh_is_handle(&h));
	snprintf(h.netns, sizeof(h.netns), SSH_HANDLE_PREFIX "h1");
	assert_true(ssh_is_handle(&h));
	/* The local provider never touches an ssh handle. */
	char *err = NULL;
	assert_int_equal(provider_local.destroy(NULL, &h, &err), -EINVAL);
	free(err);
}

/* Bad targets are refused before any ssh runs (so no remote script sees them). */
static void test_bad_targets(void **state)
{
	struct ssh_target t = {
		.host = "h1", .address = "10.1.2.11", .port = 22, .user = "root", .key_file = "/dev/null",
		.known_hosts = "/var/tmp/kh", .install_dir = "/opt/stratus",
	};
	struct ssh_facts f;
	char *err = NULL;
	struct {
		const char *field, *value;
	} cases[] = {
		{ "address", "-oProxyCommand=x" }, { "address", "a b" }, { "user", "-l" }, { "user", "ro;ot" },
		{ "host", "h/1" }, { "install_dir", "/usr/x" }, { "specs", "p/s;reboot" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ssh_target x = t;
		if (!strcmp(cases[i].field, "address"))
			x.address = cases[i].value;
		else if (!strcmp(cases[i].field, "user"))
			x.user = cases[i].value;
		else if (!strcmp(cases[i].field, "host"))
			x.host = cases[i].value;
		else if (!strcmp(cases[i].field, "install_dir"))
			x.install_dir = cases[i].value;
		else
			x.specs = cases[i].value;
		int rc = ssh_host_check(&x, true, &f, &err);
		if (rc != -EINVAL)
			fail_msg("%s '%s': got %d, want -EINVAL", cases[i].field, cases[i].value, rc);
		assert_non_null(err);
		free(err);
		err = NULL;
	}
	struct ssh_target x = t;
	x.port = 0;
	assert_int_equal(ssh_host_check(&x, true, &f, &err), -EINVAL);
	free(err);
	err = NULL;
	x = t;
	x.key_file = "/nonexistent/key";
	assert_int_equal(ssh_host_check(&x, true, &f, &err), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/key"));
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_install_dir),
		cmocka_unit_test(test_hosts_block),
		cmocka_unit_test(test_handles),
		cmocka_unit_test(test_bad_targets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
