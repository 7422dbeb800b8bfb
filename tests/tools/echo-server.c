/*
 * echo-server: a tiny server built only from src/common, for the harness's
 * own end-to-end test (start a server on a free port, poll it, stop it).
 * Echoes each line it receives; "quit\n" makes it exit.  Writes the port it
 * got to --port-file once it is listening.
 */
#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/err.h"
#include "common/evloop.h"
#include "common/log.h"
#include "common/net.h"
#include "common/util.h"

struct echo_opts {
	int64_t port;
	char *listen;
	char *port_file;
	char *log_level;
};

static const struct cfg_opt echo_table[] = {
	CFG_INT("port", 'p', struct echo_opts, port, "0", 0, 65535, "TCP port (0: any free port)"),
	CFG_STR("listen", 'l', struct echo_opts, listen, "127.0.0.1", "address to listen on"),
	CFG_STR("port-file", 0, struct echo_opts, port_file, NULL, "write the bound port here when ready"),
	CFG_STR("log-level", 0, struct echo_opts, log_level, "info", "error, warn, info or debug"),
	CFG_END
};

static const struct cfg_program echo_prog = {
	"echo-server", "[options]", "Echo lines back over TCP (a test server for the harness).", echo_table
};

struct conn {
	int fd;
	struct buf in;
};

static void on_conn(struct evloop *l, int fd, unsigned ev, void *arg)
{
	struct conn *c = arg;
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	if (n <= 0 || buf_append(&c->in, tmp, (size_t)n)) {
		log_info("connection closed");
		goto drop;
	}
	char *nl;
	while ((nl = memchr(c->in.data, '\n', c->in.len))) {
		size_t len = (size_t)(nl - c->in.data) + 1;
		if (len == 5 && !memcmp(c->in.data, "quit\n", 5)) {
			log_info("quit requested");
			evloop_stop(l);
			goto drop;
		}
		if (net_write_full(fd, c->in.data, len))
			goto drop;
		buf_consume(&c->in, len);
	}
	return;
drop:
	evloop_del_fd(l, fd);
	close(fd);
	buf_release(&c->in);
	free(c);
}

static void on_accept(struct evloop *l, int fd, unsigned ev, void *arg)
{
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(cfd);
		return;
	}
	c->fd = cfd;
	buf_init(&c->in, 64 * 1024);
	evloop_add_fd(l, cfd, EV_READ, on_conn, c);
	log_info("accepted connection");
}

static void on_term(struct evloop *l, void *arg)
{
	log_info("terminating on signal");
	evloop_stop(l);
}

int main(int argc, char **argv)
{
	struct echo_opts o;
	err_set_progname("echo-server");
	cfg_parse_args(&echo_prog, &o, argc, argv);
	int lvl = log_level_parse(o.log_level);
	if (lvl < 0)
		die("unknown log level '%s'; use error, warn, info or debug", o.log_level);
	log_init("echo-server", (enum log_level)lvl);

	int lfd = net_listen_tcp(o.listen, (int)o.port, 16);
	if (lfd < 0)
		die("cannot listen on '%s:%lld': %s", o.listen, (long long)o.port, strerror(-lfd));
	int port = net_local_port(lfd);
	struct evloop *l = evloop_new();
	if (!l)
		die("cannot create the event loop: %s", strerror(errno));
	evloop_add_fd(l, lfd, EV_READ, on_accept, NULL);
	evloop_add_signal(l, SIGTERM, on_term, NULL);
	evloop_add_signal(l, SIGINT, on_term, NULL);
	if (o.port_file) {
		char s[16];
		int n = snprintf(s, sizeof(s), "%d\n", port);
		int rc = util_write_file_atomic(o.port_file, s, (size_t)n, 0644);
		if (rc)
			die("cannot write port file '%s': %s", o.port_file, strerror(-rc));
	}
	log_info("listening on %s:%d", o.listen, port);
	evloop_run(l);
	evloop_free(l);
	close(lfd);
	cfg_release(&echo_prog, &o);
	return 0;
}
