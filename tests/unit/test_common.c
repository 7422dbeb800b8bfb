/*
 * test_common.c: unit tests of src/common (configuration tables, capped
 * buffers, host:port parsing, the event loop's timers and posted calls).
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
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/evloop.h"
#include "common/net.h"

struct opts {
	int64_t port;
	int64_t size;
	int64_t timeout;
	char *dir;
	bool verbose;
};

static const struct cfg_opt opt_table[] = {
	CFG_INT("port", 'p', struct opts, port, "7000", 0, 65535, "port"),
	CFG_SIZE("size", 's', struct opts, size, "1m", 0, INT64_MAX, "size"),
	CFG_DURATION("timeout", 0, struct opts, timeout, "100", 0, 3600000, "timeout"),
	CFG_STR("dir", 'd', struct opts, dir, "/tmp", "directory"),
	CFG_BOOL("verbose", 'v', struct opts, verbose, "false", "chatty"),
	CFG_END
};
static const struct cfg_program prog = { "test", "[options]", "a test", opt_table };

static void test_cfg_defaults_and_flags(void **state)
{
	struct opts o;
	char *argv[] = { "test", "-p", "80", "--size=4g", "--timeout", "250ms", "--verbose", "pos", NULL };
	int idx = cfg_parse_args(&prog, &o, 8, argv);
	assert_int_equal(idx, 7);
	assert_int_equal(o.port, 80);
	assert_int_equal(o.size, 4LL << 30);
	assert_int_equal(o.timeout, 250);
	assert_string_equal(o.dir, "/tmp");
	assert_true(o.verbose);
	cfg_release(&prog, &o);
}

static void test_cfg_bounds_and_errors(void **state)
{
	struct opts o;
	char *err = NULL;
	assert_int_equal(cfg_defaults(&prog, &o), 0);
	assert_int_equal(o.timeout, 100000);
	assert_int_equal(cfg_set(&prog, &o, "port", "70000", &err), -ERANGE);
	assert_non_null(strstr(err, "between 0 and 65535"));
	assert_int_equal(o.port, 7000);
	assert_int_equal(cfg_set(&prog, &o, "port", "12x", &err), -EINVAL);
	assert_int_equal(cfg_set(&prog, &o, "nosuch", "1", &err), -ENOENT);
	assert_non_null(strstr(err, "unknown setting 'nosuch'"));
	assert_int_equal(cfg_set(&prog, &o, "size", "2q", &err), -EINVAL);
	free(err);
	cfg_release(&prog, &o);
}

static void test_cfg_file(void **state)
{
	char path[] = "/tmp/stratus-cfg-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "# comment\nport = 99\n\ndir = /var/x\nverbose=yes\nbogus line\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct opts o;
	char *err = NULL;
	cfg_defaults(&prog, &o);
	assert_int_equal(cfg_load_file(&prog, &o, path, &err), -EINVAL);
	assert_int_equal(o.port, 99);
	assert_string_equal(o.dir, "/var/x");
	assert_true(o.verbose);
	/* The error names the file and the line. */
	char want[128];
	snprintf(want, sizeof(want), "%s:6:", path);
	assert_non_null(strstr(err, want));
	free(err);
	cfg_release(&prog, &o);
	unlink(path);
}

static void test_parse_size(void **state)
{
	int64_t v;
	assert_int_equal(cfg_parse_size("32m", &v), 0);
	assert_int_equal(v, 32LL << 20);
	assert_int_equal(cfg_parse_size("4G", &v), 0);
	assert_int_equal(v, 4LL << 30);
	assert_int_equal(cfg_parse_size("1.5k", &v), 0);
	assert_int_equal(v, 1536);
	assert_int_equal(cfg_parse_size("-1", &v), -ERANGE);
	assert_int_equal(cfg_parse_size("", &v), -EINVAL);
	assert_int_equal(cfg_parse_size("99999999999t", &v), -ERANGE);
}

static void test_buf_cap(void **state)
{
	struct buf b = BUF_INIT(10);
	assert_int_equal(buf_puts(&b, "hello"), 0);
	assert_int_equal(buf_printf(&b, "%d", 12345), 0);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "hello12345");
	assert_int_equal(buf_puts(&b, "x"), -ENOBUFS);
	assert_int_equal(b.len, 10);
	buf_consume(&b, 5);
	assert_string_equal(b.data, "12345");
	buf_release(&b);
	assert_null(b.data);
}

static void test_split_hostport(void **state)
{
	char *h;
	int p;
	assert_int_equal(net_split_hostport("mds1:7001", &h, &p, 1), 0);
	assert_string_equal(h, "mds1");
	assert_int_equal(p, 7001);
	free(h);
	assert_int_equal(net_split_hostport("[::1]:8", &h, &p, 1), 0);
	assert_string_equal(h, "::1");
	assert_int_equal(p, 8);
	free(h);
	assert_int_equal(net_split_hostport("host", &h, &p, 42), 0);
	assert_int_equal(p, 42);
	free(h);
	assert_int_equal(net_split_hostport("host:99999", &h, &p, 1), -EINVAL);
	assert_int_equal(net_split_hostport(":1", &h, &p, 1), -EINVAL);
}

static int fired;
static void on_timer(struct evloop *l, void *arg)
{
	fired++;
	if (fired == 3)
		evloop_stop(l);
}

static void on_post(struct evloop *l, void *arg)
{
	*(int *)arg = 1;
}

static void test_evloop_timers(void **state)
{
	struct evloop *l = evloop_new();
	assert_non_null(l);
	int posted = 0;
	fired = 0;
	int64_t once = evloop_add_timer(l, 1, 0, on_timer, NULL);
	int64_t cancelled = evloop_add_timer(l, 2, 0, on_timer, NULL);
	assert_true(once > 0 && cancelled > once);
	evloop_cancel_timer(l, cancelled);
	assert_true(evloop_add_timer(l, 5, 1, on_timer, NULL) > 0);
	assert_int_equal(evloop_post(l, on_post, &posted), 0);
	assert_int_equal(evloop_run(l), 0);
	assert_int_equal(fired, 3);
	assert_int_equal(posted, 1);
	evloop_free(l);
}

/* The buffered reader: exact lengths across reads, dropping with NULL,
 * large reads straight through, EOF, and a new fd dropping what was buffered. */
static void test_rbuf(void **state)
{
	(void)state;
	int sv[2], sv2[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv2), 0);
	static struct net_rbuf r = { .fd = -1 };
	static uint8_t big[40000], got[40000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	assert_int_equal(net_write_full(sv[1], "helloworld", 10), 0);
	assert_int_equal(net_write_full(sv[1], big, sizeof(big)), 0);
	char a[6] = { 0 };
	assert_int_equal(net_rbuf_read(&r, sv[0], a, 5), 0);
	assert_string_equal(a, "hello");
	assert_int_equal(net_rbuf_read(&r, sv[0], NULL, 5), 0); /* "world" dropped */
	assert_int_equal(net_rbuf_read(&r, sv[0], got, sizeof(got)), 0);
	assert_memory_equal(got, big, sizeof(big));
	/* Another socket: nothing of the first one's buffer leaks into it. */
	assert_int_equal(net_write_full(sv[1], "stale", 5), 0);
	assert_int_equal(net_rbuf_read(&r, sv[0], a, 1), 0);
	assert_int_equal(net_write_full(sv2[1], "fresh", 5), 0);
	assert_int_equal(net_rbuf_read(&r, sv2[0], a, 5), 0);
	assert_memory_equal(a, "fresh", 5);
	close(sv2[1]);
	assert_int_equal(net_rbuf_read(&r, sv2[0], a, 1), -EPIPE);
	close(sv[0]), close(sv[1]), close(sv2[0]);
}

/* Stepping an iovec array past a short send, inside and across elements. */
static void test_iov_advance(void **state)
{
	(void)state;
	char x[4], y[6];
	struct iovec v[2] = { { x, sizeof(x) }, { y, sizeof(y) } }, *p = v;
	size_t n = 2;
	net_iov_advance(&p, &n, 3);
	assert_ptr_equal(p, v);
	assert_int_equal(n, 2);
	assert_ptr_equal(p->iov_base, x + 3);
	assert_int_equal(p->iov_len, 1);
	net_iov_advance(&p, &n, 3);
	assert_ptr_equal(p, v + 1);
	assert_int_equal(n, 1);
	assert_ptr_equal(p->iov_base, y + 2);
	assert_int_equal(p->iov_len, 4);
	net_iov_advance(&p, &n, 4);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cfg_defaults_and_flags),
		cmocka_unit_test(test_cfg_bounds_and_errors),
		cmocka_unit_test(test_cfg_file),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_split_hostport),
		cmocka_unit_test(test_evloop_timers),
		cmocka_unit_test(test_rbuf),
		cmocka_unit_test(test_iov_advance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
