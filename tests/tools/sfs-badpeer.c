/*
 * sfs-badpeer: a hostile StratusFS peer for the tests.  Connects to a
 * server, optionally authenticates with a real HELLO, sends one kind of
 * malformed frame, and reports whether the server dropped the connection
 * (exit 0: dropped, as it must; exit 1: still talking to us; 2: set-up error).
 *
 *   sfs-badpeer --port P [--munge-socket S] --mode MODE
 *   MODE: garbage | bad-magic | huge-payload | huge-bulk | truncated |
 *         unknown-op | bad-payload | no-hello | reply-flag
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "common/net.h"
#include "proto/sfs_auth.h"
#include "proto/sfs_proto.h"
#include "proto/sfs_wire.h"

struct bp_opts {
	char *host;
	int64_t port;
	char *munge_socket;
	char *mode;
};

static const struct cfg_opt bp_table[] = {
	CFG_STR("host", 0, struct bp_opts, host, "127.0.0.1", "server address"),
	CFG_INT("port", 'p', struct bp_opts, port, "0", 0, 65535, "server port"),
	CFG_STR("munge-socket", 0, struct bp_opts, munge_socket, NULL, "authenticate first through this munged"),
	CFG_STR("mode", 'm', struct bp_opts, mode, "garbage", "what to send"),
	CFG_END
};
static const struct cfg_program bp_prog = { "sfs-badpeer", "[options]", "Send a malformed frame to a StratusFS server.", bp_table };

static void raw_hdr(uint8_t *h, uint32_t magic, uint16_t op, uint32_t plen, uint32_t blen)
{
	memset(h, 0, SFS_HDR_LEN);
	h[0] = (uint8_t)(magic >> 24); h[1] = (uint8_t)(magic >> 16); h[2] = (uint8_t)(magic >> 8); h[3] = (uint8_t)magic;
	h[4] = SFS_VERSION;
	h[6] = (uint8_t)(op >> 8); h[7] = (uint8_t)op;
	h[15] = 7; /* reqid */
	h[20] = (uint8_t)(plen >> 24); h[21] = (uint8_t)(plen >> 16); h[22] = (uint8_t)(plen >> 8); h[23] = (uint8_t)plen;
	h[24] = (uint8_t)(blen >> 24); h[25] = (uint8_t)(blen >> 16); h[26] = (uint8_t)(blen >> 8); h[27] = (uint8_t)blen;
}

int main(int argc, char **argv)
{
	struct bp_opts o;
	err_set_progname("sfs-badpeer");
	cfg_parse_args(&bp_prog, &o, argc, argv);
	int fd = net_connect_tcp(o.host, (int)o.port, 3000);
	if (fd < 0)
		die("cannot connect: %s", strerror(-fd));
	if (o.munge_socket && strcmp(o.mode, "no-hello")) {
		char *cred, why[256];
		if (sfs_auth_encode(o.munge_socket, &cred, why, sizeof(why)))
			die("%s", why);
		struct sfs_hello_req hq = { .role = SFS_ROLE_CLIENT, .client_id = 99 };
		snprintf(hq.cred, sizeof(hq.cred), "%s", cred);
		free(cred);
		struct sfs_hdr h;
		uint8_t p[SFS_MAX_PAYLOAD];
		if (sfs_send_msg(fd, SFS_HELLO, false, 0, 0, &hq, NULL, 0) || sfs_recv_hdr(fd, &h) || h.status ||
		    net_read_full(fd, p, h.plen)) {
			fprintf(stderr, "sfs-badpeer: HELLO refused\n");
			return 2;
		}
	}
	uint8_t h[SFS_HDR_LEN], junk[256];
	memset(junk, 0xA5, sizeof(junk));
	if (!strcmp(o.mode, "garbage")) {
		net_write_full(fd, junk, sizeof(junk));
	} else if (!strcmp(o.mode, "bad-magic")) {
		raw_hdr(h, 0x12345678, SFS_CLTOMD_GETATTR, 0, 0);
		net_write_full(fd, h, sizeof(h));
	} else if (!strcmp(o.mode, "huge-payload")) {
		raw_hdr(h, SFS_MAGIC, SFS_CLTOMD_GETATTR, 0x7fffffff, 0);
		net_write_full(fd, h, sizeof(h));
	} else if (!strcmp(o.mode, "huge-bulk")) {
		raw_hdr(h, SFS_MAGIC, SFS_CLTOOS_WRITE, 0, 0xfffffff0u);
		net_write_full(fd, h, sizeof(h));
	} else if (!strcmp(o.mode, "truncated")) {
		raw_hdr(h, SFS_MAGIC, SFS_CLTOMD_GETATTR, 100, 0);
		net_write_full(fd, h, sizeof(h));
		net_write_full(fd, junk, 10);
		shutdown(fd, SHUT_WR);
	} else if (!strcmp(o.mode, "unknown-op")) {
		raw_hdr(h, SFS_MAGIC, 4242, 0, 0);
		net_write_full(fd, h, sizeof(h));
	} else if (!strcmp(o.mode, "bad-payload")) {
		/* A GETATTR whose payload is garbage of a plausible length. */
		raw_hdr(h, SFS_MAGIC, SFS_CLTOMD_GETATTR, 5, 0);
		net_write_full(fd, h, sizeof(h));
		net_write_full(fd, junk, 5);
	} else if (!strcmp(o.mode, "no-hello")) {
		struct sfs_ino_req q = { .ino = 1 };
		sfs_send_msg(fd, SFS_CLTOMD_GETATTR, false, 1, 0, &q, NULL, 0);
	} else if (!strcmp(o.mode, "reply-flag")) {
		raw_hdr(h, SFS_MAGIC, SFS_CLTOMD_GETATTR, 0, 0);
		h[5] = SFS_FLAG_REPLY;
		net_write_full(fd, h, sizeof(h));
	} else {
		die("unknown mode '%s'", o.mode);
	}
	/* The server must close on us within a few seconds (possibly after one
	 * refusal reply).  Drain whatever it sends until EOF. */
	for (int waited = 0; waited < 5000;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int r = poll(&pfd, 1, 100);
		if (r < 0)
			break;
		if (r == 0) {
			waited += 100;
			continue;
		}
		char buf[4096];
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0) {
			printf("dropped\n");
			cfg_release(&bp_prog, &o);
			return 0;
		}
	}
	printf("still connected\n");
	cfg_release(&bp_prog, &o);
	return 1;
}
