/*
 * sfs_conn.h: one client connection to an sfs-mds or sfs-oss, shared by many
 * threads, with many requests in flight.
 *
 * A connection authenticates with HELLO (a MUNGE credential) when it is made
 * and again after every reconnect.  When the socket breaks, a receiver
 * thread reconnects (asking `resolve` for a fresh address first, if given)
 * and resends every request still waiting, with its original request id, so
 * the server's reply cache can recognise it.  A call waits at most
 * timeout_ms in all and then fails with -EIO: nothing hangs forever.
 */
#ifndef STRATUS_SFS_CONN_H
#define STRATUS_SFS_CONN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/sfs_proto.h"

struct sfs_conn;

struct sfs_conn_opts {
	const char *host;            /* copied */
	int port;
	const char *munge_socket;    /* copied; NULL: MUNGE's default */
	uint64_t client_id;          /* names this client to the server's reply cache */
	uint8_t role;                /* SFS_ROLE_* */
	int64_t timeout_ms;          /* the longest a call may take, retries included */
	/* Optional: called (from the receiver thread) before a reconnect; may
	 * replace *host (malloc'd; free the old one) and *port.  0 or -errno. */
	int (*resolve)(void *arg, char **host, int *port);
	void *resolve_arg;
	/* Optional, for a lazy open: the server is already known to have been
	 * unreachable since this monotonic ms (another connection to it saw it
	 * go), so calls on this one fail no later than the others. */
	int64_t down_since;
	/* Optional: messages the server sends of its own (SFS_MDTOCL_RECALL),
	 * given decoded to notify, from the receiver thread: it must not block
	 * (queue the work).  Setting it asks the MDS for directory leases. */
	void (*notify)(void *arg, uint16_t op, const void *msg);
	void *notify_arg;
};

/* One request.  Fill op, req, rep (struct of the op's reply type, or NULL),
 * and the optional bulk buffers; read rc and bulk_in_len after waiting. */
struct sfs_call {
	uint16_t op;
	const void *req;
	void *rep;
	const void *bulk_out;
	size_t bulk_out_len;
	/* The caller leaves bulk_out untouched until the call is done, and
	 * after a failure never writes to it again (unmaps it instead of
	 * reusing it): its pages may then be handed to the socket as they are
	 * (vmsplice + splice), without copying, and a frame still queued when
	 * the call gave up keeps reading them. */
	bool bulk_out_pinned;
	uint8_t hdr_flags;           /* extra frame header flags (SFS_FLAG_ASYNC) */
	void *bulk_in;
	size_t bulk_in_cap;
	size_t bulk_in_len;
	int rc;                      /* 0 or -errno (server status translated) */
	/* sfs_call_detach: called once with rc set (from the receiver thread,
	 * or whichever gives the call up); the call is the callee's then. */
	void (*done_cb)(struct sfs_call *call);
	void *arg;                   /* for done_cb */
	/* private */
	uint64_t reqid;
	uint8_t *payload;
	size_t plen;
	uint64_t sent_gen;
	int64_t deadline;
	bool done, receiving, registered, sending;
	pthread_cond_t cond;
	struct sfs_call *next;
};

/*
 * Make a connection and authenticate.  On failure returns NULL and writes
 * the reason to errbuf.  With `lazy`, a first connection that fails is not
 * an error: the receiver keeps trying and calls wait (up to their timeout).
 */
struct sfs_conn *sfs_conn_open(const struct sfs_conn_opts *o, bool lazy, char *errbuf, size_t errlen);
/* Close, fail every waiting call with -EIO, free. */
void sfs_conn_close(struct sfs_conn *c);

/* Send a call without waiting (the call must live until sfs_call_wait). */
void sfs_call_start(struct sfs_conn *c, struct sfs_call *call);
/* Wait for a started call.  Returns call->rc. */
int sfs_call_wait(struct sfs_conn *c, struct sfs_call *call);
/* Send a call nobody waits for: done_cb(call) runs once it is answered, or
 * failed (-EIO after the timeout, or when the connection is closed).  The
 * call, and rep, must live until then; req is copied at once.  Calls on one
 * connection reach the server in the order they were started. */
void sfs_call_detach(struct sfs_conn *c, struct sfs_call *call, void (*done_cb)(struct sfs_call *));
/* Give up detached calls older than the timeout (done_cb with -EIO).  The
 * receiver does it while the server is unreachable; call it now and then
 * for a server that is connected but does not answer. */
void sfs_conn_expire_detached(struct sfs_conn *c);
/* Start and wait. */
int sfs_call_run(struct sfs_conn *c, struct sfs_call *call);
/* Shorthand for calls without bulk data. */
int sfs_rpc(struct sfs_conn *c, uint16_t op, const void *req, void *rep);

/* Bumped at every successful (re)connect: callers notice a server restart. */
uint64_t sfs_conn_generation(struct sfs_conn *c);
bool sfs_conn_is_up(struct sfs_conn *c);
/* Monotonic ms since which the server has been unreachable; 0 while up. */
int64_t sfs_conn_down_since(struct sfs_conn *c);
/* Identity the server saw in HELLO (fs name, uid). */
const char *sfs_conn_fsname(struct sfs_conn *c);
/* The HELLO reply's flags (SFS_HELLO_SQUASHED). */
uint32_t sfs_conn_hello_flags(struct sfs_conn *c);
void sfs_conn_set_timeout(struct sfs_conn *c, int64_t timeout_ms);

/* A random 64-bit id for a new client. */
uint64_t sfs_random_id(void);

#endif
