/*
 * net.h: the socket helpers every Stratus server and client shares.
 *
 * Addresses are "HOST" plus a port; HOST may be a name (looked up through
 * /etc/hosts first, as the resolver does), an IPv4 or an IPv6 literal.
 * Every function returns a file descriptor or 0 on success and -errno on
 * failure.  Descriptors are created close-on-exec.
 */
#ifndef STRATUS_NET_H
#define STRATUS_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Listen on HOST:PORT (HOST NULL or "" or "*": every address; PORT 0: any free port). */
int net_listen_tcp(const char *host, int port, int backlog);
/* Listen on a Unix socket at PATH (an old socket file there is replaced), mode 0660. */
int net_listen_unix(const char *path, int backlog);
/* The port a bound socket got (for PORT 0), or -errno. */
int net_local_port(int fd);
/* Connect to HOST:PORT, waiting at most timeout_ms (-1: the kernel's own limit). */
int net_connect_tcp(const char *host, int port, int timeout_ms);
int net_connect_unix(const char *path);
int net_set_nonblock(int fd, int on);
/* TCP_NODELAY and keepalive, as every RPC connection wants. */
int net_tune_tcp(int fd);
/* Read or write exactly n bytes, retrying on EINTR and short transfers. 0, -errno, -EPIPE on EOF. */
int net_read_full(int fd, void *p, size_t n);
int net_write_full(int fd, const void *p, size_t n);
/* A socket's read buffer: one read() takes whatever the peer has sent (often
 * a whole message, or several) instead of one read per header and payload.
 * Reads of at least the buffer's size go straight to the caller's memory.
 * Reading another fd than last time drops what was buffered (it belonged to
 * the old socket). */
struct net_rbuf {
	int fd;
	size_t off, len;
	uint8_t b[16384];
};
/* Exactly n bytes from fd through r, into dst (NULL: read and drop them).
 * 0, -EPIPE at EOF, or -errno. */
int net_rbuf_read(struct net_rbuf *r, int fd, void *dst, size_t n);
/* After a short sendmsg/writev of `sent` bytes: step *iov / *iovcnt past them. */
struct iovec;
void net_iov_advance(struct iovec **iov, size_t *iovcnt, size_t sent);
/* "host:port" -> parts (host malloc'd).  [v6]:port accepted.  PORT taken from def_port when absent. */
int net_split_hostport(const char *s, char **host, int *port, int def_port);
/* The peer's address as text (for logs): "10.0.0.1:4521". */
void net_peer_name(int fd, char *out, size_t outlen);

#endif
