/*
 * sfs_conn.c: a multiplexed, self-healing RPC connection (see sfs_conn.h).
 *
 * Locks: `lock` guards the table of waiting calls and the state flags;
 * `send_lock` serialises frames on the socket.  They are never held together
 * in the order send_lock -> lock by the receiver, so a sender blocked on a
 * full socket never stops the receiver from draining replies.
 */
#include "libsfs/sfs_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/net.h"
#include "common/util.h"
#include "proto/sfs_auth.h"
#include "proto/sfs_wire.h"

#define NBUCKET 256

struct sfs_conn {
	char *host;
	int port;
	char *munge_socket;
	uint64_t client_id;
	uint8_t role;
	_Atomic int64_t timeout_ms;
	int (*resolve)(void *, char **, int *);
	void *resolve_arg;
	void (*notify)(void *, uint16_t, const void *);
	void *notify_arg;

	pthread_mutex_t lock;
	pthread_cond_t state_cond;     /* wakes the receiver's back-off */
	struct sfs_call *bucket[NBUCKET];
	bool stopping;
	bool up;
	int64_t down_since;            /* monotonic ms the server became unreachable; 0 while up */
	_Atomic uint64_t gen;

	pthread_mutex_t send_lock;
	int fd;                        /* -1 while down; changed only by the receiver under send_lock */
	int pipefd[2];                 /* for pinned bulk (send_spliced), under send_lock; -1 until needed */

	pthread_t receiver;
	bool receiver_started;
	char fsname[SFS_FSNAME_MAX + 1];
	_Atomic uint32_t hello_flags;
	char last_error[256];
};

static _Atomic uint64_t next_reqid = 1;

uint64_t sfs_random_id(void)
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint64_t)util_wall_ms() ^ ((uint64_t)getpid() << 32);
	return v ? v : 1;
}

static int64_t now_ms(void)
{
	return util_mono_ms();
}

/* Connect and authenticate; the new fd or -errno (reason in c->last_error). */
static int dial(struct sfs_conn *c)
{
	int fd = net_connect_tcp(c->host, c->port, 3000);
	if (fd < 0) {
		snprintf(c->last_error, sizeof(c->last_error), "cannot connect to '%s:%d': %s",
			 c->host, c->port, strerror(-fd));
		return fd;
	}
	net_tune_tcp(fd);
	char *cred = NULL;
	int rc = sfs_auth_encode(c->munge_socket, &cred, c->last_error, sizeof(c->last_error));
	if (rc)
		goto fail;
	struct sfs_hello_req hq = { .role = c->role, .client_id = c->client_id,
				    .flags = c->notify ? SFS_HELLO_LEASES : 0 };
	if (strlen(cred) > SFS_CRED_MAX) {
		free(cred);
		rc = -E2BIG;
		snprintf(c->last_error, sizeof(c->last_error), "MUNGE credential too long");
		goto fail;
	}
	snprintf(hq.cred, sizeof(hq.cred), "%s", cred);
	free(cred);
	/* HELLO uses reqid 0, which no call ever has. */
	rc = sfs_send_msg(fd, SFS_HELLO, false, 0, 0, &hq, NULL, 0);
	if (rc)
		goto io;
	/* The server may take a moment to check the credential: bound the wait. */
	struct timeval tv = { 10, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sfs_hdr h;
	rc = sfs_recv_hdr(fd, &h);
	if (rc)
		goto io;
	if (!(h.flags & SFS_FLAG_REPLY) || h.op != SFS_HELLO || h.blen) {
		rc = -EPROTO;
		goto io;
	}
	if (h.status) {
		rc = -sfs_status_to_errno(h.status);
		snprintf(c->last_error, sizeof(c->last_error),
			 "'%s:%d' refused this client: %s; do both hosts share the cluster's MUNGE key?",
			 c->host, c->port, strerror(-rc));
		goto fail;
	}
	uint8_t p[SFS_MAX_PAYLOAD];
	struct sfs_hello_rep hr;
	if (h.plen > sizeof(p) || (rc = net_read_full(fd, p, h.plen)) ||
	    (rc = sfs_decode(SFS_HELLO, true, p, h.plen, &hr))) {
		rc = rc ? rc : -EPROTO;
		goto io;
	}
	tv.tv_sec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	pthread_mutex_lock(&c->lock);
	snprintf(c->fsname, sizeof(c->fsname), "%s", hr.fsname);
	pthread_mutex_unlock(&c->lock);
	atomic_store(&c->hello_flags, hr.flags);
	return fd;
io:
	snprintf(c->last_error, sizeof(c->last_error), "handshake with '%s:%d' failed: %s",
		 c->host, c->port, strerror(rc == -EPIPE ? ECONNRESET : -rc));
fail:
	close(fd);
	return rc < 0 ? rc : -EIO;
}

static struct sfs_call **slot(struct sfs_conn *c, uint64_t reqid)
{
	return &c->bucket[reqid % NBUCKET];
}

/* Under c->lock. */
static void unlink_call(struct sfs_conn *c, struct sfs_call *call)
{
	if (!call->registered)
		return;
	for (struct sfs_call **pp = slot(c, call->reqid); *pp; pp = &(*pp)->next)
		if (*pp == call) {
			*pp = call->next;
			break;
		}
	call->registered = false;
}

static struct sfs_call *find_call(struct sfs_conn *c, uint64_t reqid)
{
	for (struct sfs_call *p = *slot(c, reqid); p; p = p->next)
		if (p->reqid == reqid)
			return p;
	return NULL;
}

/* A detached call is over (not registered, not being sent): hand it back. */
static void finish_detached(struct sfs_call *call)
{
	pthread_cond_destroy(&call->cond);
	free(call->payload);
	call->payload = NULL;
	call->done_cb(call);
}

/* Pinned bulk at least this large goes by vmsplice + splice (see sfs_call). */
#define SPLICE_MIN (64 * 1024)

static void pipe_drop(struct sfs_conn *c)
{
	if (c->pipefd[0] >= 0) {
		close(c->pipefd[0]);
		close(c->pipefd[1]);
	}
	c->pipefd[0] = c->pipefd[1] = -1;
}

/*
 * Under send_lock: send a frame whose bulk is pinned (struct sfs_call)
 * without copying it: the header and payload with MSG_MORE, then the bulk's
 * pages through a pipe (vmsplice), from which the socket takes them
 * (splice).  The copy into socket buffers was the largest single cost of a
 * client's writes.  1 if this cannot be done here (no pipe): send it the
 * usual way; else 0 or -errno (the socket is then bad).
 */
static int send_spliced(struct sfs_conn *c, struct sfs_hdr *h, const uint8_t *payload, size_t plen,
			const uint8_t *bulk, size_t blen)
{
	if (c->pipefd[0] < 0) {
		if (pipe2(c->pipefd, O_CLOEXEC)) {
			c->pipefd[0] = c->pipefd[1] = -1;
			return 1;
		}
		/* Room for a whole 1 MiB request; a smaller pipe only means
		 * more rounds. */
		fcntl(c->pipefd[1], F_SETPIPE_SZ, (int)SFS_MAX_IO);
	}
	uint8_t hb[SFS_HDR_LEN];
	h->plen = (uint32_t)plen;
	h->blen = (uint32_t)blen;
	sfs_hdr_encode(h, hb);
	struct iovec iov[2] = { { hb, sizeof(hb) }, { (void *)payload, plen } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = plen ? 2 : 1 };
	size_t left = sizeof(hb) + plen;
	while (left) {
		ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_MORE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EPIPE || errno == ECONNRESET ? -EPIPE : -errno;
		left -= (size_t)n;
		net_iov_advance(&mh.msg_iov, &mh.msg_iovlen, (size_t)n);
	}
	size_t off = 0;
	while (off < blen) {
		struct iovec v = { (void *)(bulk + off), blen - off };
		ssize_t n = vmsplice(c->pipefd[1], &v, 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errno = n ? errno : EPIPE;
			goto broken;
		}
		size_t inpipe = (size_t)n;
		while (inpipe) {
			ssize_t m = splice(c->pipefd[0], NULL, c->fd, NULL, inpipe,
					   off + (size_t)n < blen ? SPLICE_F_MORE : 0);
			if (m < 0 && errno == EINTR)
				continue;
			if (m <= 0) {
				errno = m ? errno : EPIPE;
				goto broken;
			}
			inpipe -= (size_t)m;
		}
		off += (size_t)n;
	}
	return 0;
broken:;
	int e = errno;
	pipe_drop(c); /* it may hold bytes of this frame */
	return e == EPIPE || e == ECONNRESET ? -EPIPE : -e;
}

/* Under send_lock: send the call on the current socket if not yet sent there. */
static void send_locked(struct sfs_conn *c, struct sfs_call *call)
{
	uint64_t g = atomic_load(&c->gen);
	if (c->fd < 0 || call->sent_gen == g)
		return;
	struct sfs_hdr h = { .version = SFS_VERSION, .flags = call->hdr_flags, .op = call->op, .reqid = call->reqid };
	int rc = 1;
	if (call->bulk_out_pinned && call->bulk_out && call->bulk_out_len >= SPLICE_MIN)
		rc = send_spliced(c, &h, call->payload, call->plen, call->bulk_out, call->bulk_out_len);
	if (rc == 1)
		rc = sfs_send(c->fd, &h, call->payload, call->plen, call->bulk_out, call->bulk_out_len);
	call->sent_gen = g;
	if (rc)
		shutdown(c->fd, SHUT_RDWR); /* the receiver notices and reconnects */
}

static void resend_all(struct sfs_conn *c)
{
	/* Collect under lock, send under send_lock (never both at once). */
	for (;;) {
		struct sfs_call *todo[64];
		int n = 0;
		uint64_t g = atomic_load(&c->gen);
		pthread_mutex_lock(&c->lock);
		for (int b = 0; b < NBUCKET && n < 64; b++)
			for (struct sfs_call *p = c->bucket[b]; p && n < 64; p = p->next)
				if (p->sent_gen != g && !p->done && !p->sending)
					todo[n++] = p;
		/* Mark them so that nobody frees them while we send: `sending`
		 * makes waiters hold on, and leaves a detached call that is
		 * answered meanwhile for us to hand back. */
		for (int i = 0; i < n; i++)
			todo[i]->sending = true;
		pthread_mutex_unlock(&c->lock);
		if (!n)
			return;
		pthread_mutex_lock(&c->send_lock);
		for (int i = 0; i < n; i++)
			send_locked(c, todo[i]);
		pthread_mutex_unlock(&c->send_lock);
		struct sfs_call *fin[64];
		int nf = 0;
		pthread_mutex_lock(&c->lock);
		for (int i = 0; i < n; i++) {
			todo[i]->sending = false;
			if (todo[i]->done_cb) {
				if (todo[i]->done)
					fin[nf++] = todo[i];
			} else {
				pthread_cond_signal(&todo[i]->cond);
			}
		}
		pthread_mutex_unlock(&c->lock);
		for (int i = 0; i < nf; i++)
			finish_detached(fin[i]);
	}
}

static void drop_socket(struct sfs_conn *c)
{
	pthread_mutex_lock(&c->send_lock);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	pthread_mutex_unlock(&c->send_lock);
	pthread_mutex_lock(&c->lock);
	c->up = false;
	c->down_since = now_ms();
	pthread_mutex_unlock(&c->lock);
}

/* Sleep up to ms unless stopping; true if we should stop. */
static bool backoff(struct sfs_conn *c, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&c->lock);
	if (!c->stopping)
		pthread_cond_timedwait(&c->state_cond, &c->lock, &ts);
	bool s = c->stopping;
	pthread_mutex_unlock(&c->lock);
	return s;
}

static void install_socket(struct sfs_conn *c, int fd)
{
	pthread_mutex_lock(&c->send_lock);
	c->fd = fd;
	atomic_fetch_add(&c->gen, 1);
	pthread_mutex_unlock(&c->send_lock);
	pthread_mutex_lock(&c->lock);
	c->up = true;
	c->down_since = 0;
	pthread_mutex_unlock(&c->lock);
}

static int reconnect(struct sfs_conn *c)
{
	int64_t delay = 50;
	int attempts = 0;
	for (;;) {
		pthread_mutex_lock(&c->lock);
		bool s = c->stopping;
		pthread_mutex_unlock(&c->lock);
		if (s)
			return -ECANCELED;
		if (c->resolve && attempts > 0)
			c->resolve(c->resolve_arg, &c->host, &c->port);
		int fd = dial(c);
		if (fd >= 0) {
			install_socket(c, fd);
			if (attempts)
				log_info("reconnected to '%s:%d'", c->host, c->port);
			resend_all(c);
			return 0;
		}
		if (attempts++ == 0)
			log_warn("%s; retrying", c->last_error);
		sfs_conn_expire_detached(c);
		if (backoff(c, delay))
			return -ECANCELED;
		delay = delay * 2 > 1000 ? 1000 : delay * 2;
	}
}

/* Read and drop n bytes (a reply nobody waits for any more). */
static void discard(struct net_rbuf *r, int fd, size_t n)
{
	(void)net_rbuf_read(r, fd, NULL, n);
}

/* Read one reply and complete its call.  0, or -errno: the socket is bad. */
static int receive_one(struct sfs_conn *c, struct net_rbuf *rb, int fd)
{
	struct sfs_hdr h;
	uint8_t hb[SFS_HDR_LEN];
	int rc = net_rbuf_read(rb, fd, hb, sizeof(hb));
	if (!rc)
		rc = sfs_hdr_decode(hb, &h);
	if (rc)
		return rc;
	uint8_t p[SFS_MAX_PAYLOAD];
	if (!(h.flags & SFS_FLAG_REPLY)) {
		/* A message of the server's own: only a lease recall, only to a
		 * client that takes leases. */
		struct sfs_lease_msg m;
		if (h.op != SFS_MDTOCL_RECALL || !c->notify || h.blen || (rc = net_rbuf_read(rb, fd, p, h.plen)) ||
		    (rc = sfs_decode(h.op, false, p, h.plen, &m)))
			return rc ? rc : -EPROTO;
		c->notify(c->notify_arg, h.op, &m);
		return 0;
	}
	if ((rc = net_rbuf_read(rb, fd, p, h.plen)))
		return rc;
	pthread_mutex_lock(&c->lock);
	struct sfs_call *call = find_call(c, h.reqid);
	if (!call || call->done || call->op != h.op) {
		pthread_mutex_unlock(&c->lock);
		discard(rb, fd, h.blen); /* a reply to a call that gave up */
		return 0;
	}
	call->receiving = true;
	pthread_mutex_unlock(&c->lock);

	int crc = -sfs_status_to_errno(h.status);
	if (!crc && call->rep)
		crc = sfs_decode(h.op, true, p, h.plen, call->rep);
	if (crc == -EPROTO) {
		rc = -EPROTO;
	} else if (h.blen) {
		if (h.blen > call->bulk_in_cap) {
			rc = -EPROTO;
		} else {
			rc = net_rbuf_read(rb, fd, call->bulk_in, h.blen);
			call->bulk_in_len = h.blen;
		}
	}
	pthread_mutex_lock(&c->lock);
	call->receiving = false;
	if (!rc) {
		call->rc = crc;
		call->done = true;
		unlink_call(c, call);
	}
	/* A detached call is handed back here, unless its starter is still
	 * sending it (the starter does it then). */
	bool finish = !rc && call->done_cb && !call->sending;
	if (!call->done_cb)
		pthread_cond_signal(&call->cond);
	pthread_mutex_unlock(&c->lock);
	if (finish)
		finish_detached(call);
	if (rc == -EPROTO)
		log_error("'%s:%d' sent a malformed %s reply; dropping the connection",
			  c->host, c->port, sfs_op_name(h.op));
	return rc;
}

static void *receiver_main(void *arg)
{
	struct sfs_conn *c = arg;
	struct net_rbuf *rb = malloc(sizeof(*rb));
	if (!rb) {
		log_error("out of memory for the receiver of '%s:%d'", c->host, c->port);
		return NULL;
	}
	rb->fd = -1;
	rb->off = rb->len = 0;
	for (;;) {
		int fd;
		pthread_mutex_lock(&c->send_lock);
		fd = c->fd;
		pthread_mutex_unlock(&c->send_lock);
		if (fd < 0) {
			if (reconnect(c))
				break;
			continue;
		}
		int rc = receive_one(c, rb, fd);
		if (rc) {
			pthread_mutex_lock(&c->lock);
			bool s = c->stopping;
			pthread_mutex_unlock(&c->lock);
			if (!s)
				log_warn("lost connection to '%s:%d': %s; reconnecting", c->host, c->port,
					 strerror(rc == -EPIPE ? ECONNRESET : -rc));
			drop_socket(c);
			rb->fd = -1; /* the next socket may get the same number */
			rb->off = rb->len = 0;
			if (s)
				break;
		}
	}
	free(rb);
	return NULL;
}

struct sfs_conn *sfs_conn_open(const struct sfs_conn_opts *o, bool lazy, char *errbuf, size_t errlen)
{
	struct sfs_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	c->host = strdup(o->host);
	c->port = o->port;
	c->munge_socket = o->munge_socket ? strdup(o->munge_socket) : NULL;
	c->client_id = o->client_id ? o->client_id : sfs_random_id();
	c->role = o->role;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 100000;
	c->resolve = o->resolve;
	c->resolve_arg = o->resolve_arg;
	c->notify = o->notify;
	c->notify_arg = o->notify_arg;
	c->fd = -1;
	c->pipefd[0] = c->pipefd[1] = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->send_lock, NULL);
	pthread_cond_init(&c->state_cond, NULL);
	int fd = dial(c);
	if (fd < 0 && !lazy) {
		snprintf(errbuf, errlen, "%s", c->last_error);
		goto fail;
	}
	if (fd >= 0)
		install_socket(c, fd);
	else
		c->down_since = o->down_since > 0 ? o->down_since : now_ms();
	if (pthread_create(&c->receiver, NULL, receiver_main, c)) {
		snprintf(errbuf, errlen, "cannot start a receiver thread");
		goto fail;
	}
	c->receiver_started = true;
	return c;
fail:
	if (c->fd >= 0)
		close(c->fd);
	free(c->host);
	free(c->munge_socket);
	free(c);
	return NULL;
}

void sfs_conn_close(struct sfs_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_broadcast(&c->state_cond);
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_lock(&c->send_lock);
	if (c->fd >= 0)
		shutdown(c->fd, SHUT_RDWR);
	pthread_mutex_unlock(&c->send_lock);
	if (c->receiver_started)
		pthread_join(c->receiver, NULL);
	struct sfs_call *fin = NULL;
	pthread_mutex_lock(&c->lock);
	for (int b = 0; b < NBUCKET; b++)
		for (struct sfs_call *p = c->bucket[b], *next; p; p = next) {
			next = p->next;
			p->rc = -EIO;
			p->done = true;
			p->registered = false;
			if (p->done_cb && !p->sending) {
				p->next = fin;
				fin = p;
			} else if (!p->done_cb) {
				pthread_cond_signal(&p->cond);
			}
		}
	memset(c->bucket, 0, sizeof(c->bucket));
	pthread_mutex_unlock(&c->lock);
	for (struct sfs_call *p = fin, *next; p; p = next) {
		next = p->next;
		finish_detached(p);
	}
	if (c->fd >= 0)
		close(c->fd);
	pipe_drop(c);
	free(c->host);
	free(c->munge_socket);
	free(c);
}

/* Register and send a call; false if it is over already (not registered:
 * it could not be encoded, or the connection is closing). */
static bool start(struct sfs_conn *c, struct sfs_call *call)
{
	uint8_t p[SFS_MAX_PAYLOAD];
	call->done = false;
	call->receiving = false;
	call->registered = false;
	call->sending = false;
	call->bulk_in_len = 0;
	call->sent_gen = 0;
	call->payload = NULL;
	pthread_cond_init(&call->cond, NULL);
	call->deadline = now_ms() + atomic_load(&c->timeout_ms);
	int n = sfs_encode(call->op, false, call->req, p, sizeof(p));
	if (n < 0 || (call->payload = malloc((size_t)n ? (size_t)n : 1)) == NULL) {
		call->rc = n < 0 ? n : -ENOMEM;
		call->done = true;
		return false;
	}
	memcpy(call->payload, p, (size_t)n);
	call->plen = (size_t)n;
	call->reqid = atomic_fetch_add(&next_reqid, 1);
	call->rc = -EIO;
	pthread_mutex_lock(&c->lock);
	if (c->stopping) {
		pthread_mutex_unlock(&c->lock);
		call->done = true;
		return false;
	}
	/* The timeout bounds how long the server may stay unreachable, not
	 * each call: once it has been down that long, a call gets one more
	 * reconnect attempt (made at once) and a short grace for it, instead
	 * of the whole timeout again (a write that timed out, then the fsync
	 * and close after it). */
	if (!c->up && c->down_since) {
		int64_t t = atomic_load(&c->timeout_ms), grace = t < 1000 ? t : 1000;
		int64_t until = c->down_since + t;
		if (until < now_ms() + grace)
			until = now_ms() + grace;
		if (until < call->deadline)
			call->deadline = until;
		pthread_cond_broadcast(&c->state_cond); /* cut the reconnect back-off short */
	}
	call->next = *slot(c, call->reqid);
	*slot(c, call->reqid) = call;
	call->registered = true;
	call->sending = true;
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_lock(&c->send_lock);
	send_locked(c, call);
	pthread_mutex_unlock(&c->send_lock);
	pthread_mutex_lock(&c->lock);
	call->sending = false;
	bool over = call->done;
	if (!call->done_cb && over)
		pthread_cond_signal(&call->cond);
	pthread_mutex_unlock(&c->lock);
	return !(over && call->done_cb);
}

void sfs_call_start(struct sfs_conn *c, struct sfs_call *call)
{
	call->done_cb = NULL;
	start(c, call);
}

void sfs_call_detach(struct sfs_conn *c, struct sfs_call *call, void (*done_cb)(struct sfs_call *))
{
	call->done_cb = done_cb;
	if (!start(c, call))
		finish_detached(call);
}

void sfs_conn_expire_detached(struct sfs_conn *c)
{
	struct sfs_call *fin = NULL;
	int64_t now = now_ms();
	pthread_mutex_lock(&c->lock);
	for (int b = 0; b < NBUCKET; b++)
		for (struct sfs_call *p = c->bucket[b], *next; p; p = next) {
			next = p->next;
			if (p->done_cb && !p->sending && !p->receiving && !p->done && p->deadline <= now) {
				unlink_call(c, p);
				p->rc = -EIO;
				p->done = true;
				p->next = fin;
				fin = p;
			}
		}
	pthread_mutex_unlock(&c->lock);
	for (struct sfs_call *p = fin, *next; p; p = next) {
		next = p->next;
		log_warn("%s to '%s:%d' got no answer within the timeout; giving it up (EIO)", sfs_op_name(p->op), c->host, c->port);
		finish_detached(p);
	}
}

int sfs_call_wait(struct sfs_conn *c, struct sfs_call *call)
{
	pthread_mutex_lock(&c->lock);
	while (!call->done || call->sending) {
		int64_t left = call->deadline - now_ms();
		if (left <= 0 && !call->receiving && !call->sending && !call->done) {
			unlink_call(c, call);
			call->rc = -EIO;
			call->done = true;
			if (c->down_since)
				log_warn("%s to '%s:%d': the server has been unreachable for %lld ms (the timeout); returning EIO",
					 sfs_op_name(call->op), c->host, c->port, (long long)(now_ms() - c->down_since));
			else
				log_warn("%s to '%s:%d' timed out; returning EIO", sfs_op_name(call->op), c->host, c->port);
			break;
		}
		if (left <= 0)
			left = 10;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t ns = ts.tv_nsec + (left % 1000) * 1000000;
		ts.tv_sec += left / 1000 + ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		pthread_cond_timedwait(&call->cond, &c->lock, &ts);
	}
	pthread_mutex_unlock(&c->lock);
	pthread_cond_destroy(&call->cond);
	free(call->payload);
	call->payload = NULL;
	return call->rc;
}

int sfs_call_run(struct sfs_conn *c, struct sfs_call *call)
{
	sfs_call_start(c, call);
	return sfs_call_wait(c, call);
}

int sfs_rpc(struct sfs_conn *c, uint16_t op, const void *req, void *rep)
{
	struct sfs_call call = { .op = op, .req = req, .rep = rep };
	return sfs_call_run(c, &call);
}

uint64_t sfs_conn_generation(struct sfs_conn *c)
{
	return atomic_load(&c->gen);
}

bool sfs_conn_is_up(struct sfs_conn *c)
{
	pthread_mutex_lock(&c->lock);
	bool up = c->up;
	pthread_mutex_unlock(&c->lock);
	return up;
}

int64_t sfs_conn_down_since(struct sfs_conn *c)
{
	pthread_mutex_lock(&c->lock);
	int64_t d = c->down_since;
	pthread_mutex_unlock(&c->lock);
	return d;
}

const char *sfs_conn_fsname(struct sfs_conn *c)
{
	return c->fsname;
}

void sfs_conn_set_timeout(struct sfs_conn *c, int64_t timeout_ms)
{
	atomic_store(&c->timeout_ms, timeout_ms);
}

uint32_t sfs_conn_hello_flags(struct sfs_conn *c)
{
	return atomic_load(&c->hello_flags);
}
