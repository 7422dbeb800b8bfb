/*
 * sfs-mds: the StratusFS metadata server.  main(), connections, group
 * commit and housekeeping; the operations are in mds_ops.c, the database
 * in mds_db.c (see mds.h for how the threads share the work).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "common/net.h"
#include "common/util.h"
#include "mds/mds.h"
#include "proto/sfs_pack.h"

int64_t mds_now_ns(void);

static const struct cfg_opt mds_table[] = {
	CFG_STR("dir", 'd', struct mds_opts, dir, NULL, "directory of the metadata database (required)"),
	CFG_STR("listen", 'l', struct mds_opts, listen, "127.0.0.1", "address to listen on"),
	CFG_INT("port", 'p', struct mds_opts, port, "9800", 0, 65535, "TCP port (0: any free port)"),
	CFG_STR("port-file", 0, struct mds_opts, port_file, NULL, "write the bound port here once listening"),
	CFG_STR("munge-socket", 0, struct mds_opts, munge_socket, NULL, "munged socket (default: MUNGE's own)"),
	CFG_STR("fsname", 0, struct mds_opts, fsname, "sfs", "file system name (set when the database is made)"),
	CFG_INT("stripe-count", 'c', struct mds_opts, stripe_count, "1", -1, SFS_MAX_STRIPES, "default stripe count of a new file system (-1: all OSTs)"),
	CFG_SIZE("stripe-size", 'S', struct mds_opts, stripe_size, "1m", SFS_MIN_STRIPE_SIZE, SFS_MAX_STRIPE_SIZE, "default stripe size of a new file system (multiple of 64k)"),
	CFG_STR("log-file", 0, struct mds_opts, log_file, NULL, "log here instead of stderr"),
	CFG_STR("log-level", 0, struct mds_opts, log_level, "info", "error, warn, info or debug"),
	CFG_STR("pid-file", 0, struct mds_opts, pid_file, NULL, "write the process id here"),
	CFG_SIZE("map-size", 0, struct mds_opts, map_size, "16g", 1 << 20, INT64_MAX, "largest size of the metadata database"),
	CFG_DURATION("recovery", 0, struct mds_opts, recovery_ms, "30s", 0, 3600000, "how long a departed client's open files are kept for it to come back"),
	CFG_DURATION("ost-timeout", 0, struct mds_opts, ost_timeout_ms, "10s", 1000, 3600000, "an OST silent this long gets no new objects"),
	CFG_DURATION("reply-ttl", 0, struct mds_opts, reply_ttl_ms, "10m", 1000, 86400000, "how long replies are kept to answer retried requests"),
	CFG_STR("root-squash", 0, struct mds_opts, root_squash, NULL, "map root of clients to UID:GID (e.g. 65534:65534)"),
	CFG_STR("nosquash-nets", 0, struct mds_opts, nosquash_nets, NULL, "client networks exempt from root squash, CIDR,CIDR..."),
	CFG_STR("fault-crash-after", 0, struct mds_opts, fault_crash_after, NULL, "testing only: exit at once, without answering, after committing a request of this op (e.g. MKDIR)"),
	CFG_INT("qos-threshold", 0, struct mds_opts, qos_threshold, "17", 0, 100, "free-space imbalance (% of the largest) above which allocation weighs free space"),
	CFG_DURATION("sync-interval", 0, struct mds_opts, sync_interval_ms, "50ms", 0, 60000, "longest time a committed change waits in the page cache before it is synced to disk (fsync and other durable requests sync at once; 0: sync every commit)"),
	CFG_DURATION("lease-recall-timeout", 0, struct mds_opts, lease_recall_ms, "10s", 100, 3600000, "how long a request waits for a client to give back a directory lease before the lease is taken back"),
	CFG_DURATION("lease-cooldown", 0, struct mds_opts, lease_cooldown_ms, "2s", 0, 3600000, "a directory lease recalled sooner than this after its grant leaves the directory leased to nobody for this long (clients taking turns in it then ask the MDS instead of passing a lease back and forth)"),
	CFG_BOOL("fault-refuse-async-create", 0, struct mds_opts, fault_refuse_async, "false", "testing only: refuse every asynchronous create (CREATE with a client's inode number) with ENOSPC"),
	CFG_BOOL("no-leases", 0, struct mds_opts, no_leases, "false", "grant no directory leases (every lookup and stat then asks the MDS)"),
	CFG_END
};

static const struct cfg_program mds_prog = {
	"sfs-mds", "[options]",
	"StratusFS metadata server: the namespace, file layouts and the OST registry, in LMDB.",
	mds_table
};

static struct mds M;
static volatile sig_atomic_t stopping;

/* ---- connections ---- */

struct conn {
	int fd;
	struct sfs_peer peer;
	bool squash;
	pthread_mutex_t send_lock;
	atomic_int refs;
	atomic_int pending;   /* its requests queued or parked, not yet answered */
};

static void conn_put(struct conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1) {
		close(c->fd);
		pthread_mutex_destroy(&c->send_lock);
		free(c);
	}
}

static void conn_reply_more(struct conn *c, uint16_t op, uint64_t reqid, int32_t status,
			    const uint8_t *payload, size_t plen, const uint8_t *bulk, size_t blen, bool more)
{
	struct sfs_hdr h = { .version = SFS_VERSION, .flags = SFS_FLAG_REPLY, .op = op,
			     .reqid = reqid, .status = status };
	if (status) {
		plen = blen = 0;
	}
	pthread_mutex_lock(&c->send_lock);
	if (sfs_send_more(c->fd, &h, payload, plen, bulk, blen, more))
		shutdown(c->fd, SHUT_RDWR);
	pthread_mutex_unlock(&c->send_lock);
}

static void conn_reply(struct conn *c, uint16_t op, uint64_t reqid, int32_t status,
		       const uint8_t *payload, size_t plen, const uint8_t *bulk, size_t blen)
{
	conn_reply_more(c, op, reqid, status, payload, plen, bulk, blen, false);
}

/* A message of the MDS's own: a lease recall (no reply expected). */
static void conn_recall(void *arg, uint64_t dir, uint64_t lease)
{
	struct conn *c = arg;
	struct sfs_lease_msg m = { .dir = dir, .lease = lease };
	pthread_mutex_lock(&c->send_lock);
	if (sfs_send_msg(c->fd, SFS_MDTOCL_RECALL, false, 0, 0, &m, NULL, 0))
		shutdown(c->fd, SHUT_RDWR);
	pthread_mutex_unlock(&c->send_lock);
}

static void conn_hold(void *arg)
{
	atomic_fetch_add(&((struct conn *)arg)->refs, 1);
}

static void conn_put_v(void *arg)
{
	conn_put(arg);
}

/* ---- sessions: which clients are connected, for open-file recovery ---- */

static void session_seen(uint64_t client, int delta)
{
	pthread_mutex_lock(&M.lock);
	struct session *s;
	for (s = M.sessions; s; s = s->next)
		if (s->client == client)
			break;
	if (!s && (s = calloc(1, sizeof(*s)))) {
		s->client = client;
		s->next = M.sessions;
		M.sessions = s;
	}
	if (s) {
		s->nconns += delta;
		if (s->nconns <= 0) {
			s->nconns = 0;
			s->gone_ms = util_mono_ms();
		}
	}
	pthread_mutex_unlock(&M.lock);
}

/* ---- the committer (whichever thread queued a change first) ---- */

enum item_kind { ITEM_REQ, ITEM_SWEEP_ORPHANS, ITEM_PRUNE, ITEM_DROP_CLIENT };

struct item {
	enum item_kind kind;
	struct conn *c;
	struct sfs_hdr h;
	union sfs_msg in, out;
	uint8_t *bulk;
	size_t blen;
	uint8_t *rbulk;
	size_t rblen;
	int32_t status;
	uint8_t payload[SFS_MAX_PAYLOAD];
	int plen;
	uint64_t client;
	bool durable;        /* answer only once the change is on disk */
	struct mds_lease_ref parked; /* waits for this lease to be given back (id 0: not) */
	struct item *next;
};

/* Ids are reserved durably this many at a time. */
#define ID_CHUNK 65536

/* Commits made so far, and how many of them are known to be on disk. */
static atomic_uint_fast64_t commits;
static uint64_t synced;
static pthread_mutex_t sync_lock = PTHREAD_MUTEX_INITIALIZER;

/* Sync every commit made so far.  0 or -EIO. */
static int mds_sync_now(void)
{
	pthread_mutex_lock(&sync_lock);
	uint64_t c = atomic_load(&commits);
	int rc = 0;
	if (synced != c) {
		rc = mds_db_sync(&M);
		if (!rc)
			synced = c;
	}
	pthread_mutex_unlock(&sync_lock);
	return rc;
}

static void commit_pending(void);
static void requeue_ready(void);

/* The background flush: no committed change stays off the disk for longer
 * than sync_interval (the bound on what a power loss can take). */
static void *syncer_main(void *arg)
{
	while (!stopping) {
		int64_t ms = M.o.sync_interval_ms > 0 ? M.o.sync_interval_ms : 1000;
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
		mds_sync_now();
		mds_lease_expire();
		requeue_ready();
		commit_pending();
	}
	return NULL;
}

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t commit_lock = PTHREAD_MUTEX_INITIALIZER; /* held by the committer */
static struct item *q_head, **q_tail = &q_head;

/* The queue is first come, first served: a client's requests are applied
 * in the order they came, unless one waits for a lease (a request parked
 * is not one the client sent under a lease of its own: those never wait,
 * see mds_lease_ino; so a RELEASE always comes after them). */
static void enqueue(struct item *it)
{
	it->next = NULL;
	pthread_mutex_lock(&q_lock);
	*q_tail = it;
	q_tail = &it->next;
	pthread_mutex_unlock(&q_lock);
}

/* The request is queued (or parked) from now on: it holds its connection
 * and counts among the connection's pending requests. */
static void item_adopt(struct item *it, struct conn *c)
{
	it->kind = ITEM_REQ;
	atomic_fetch_add(&c->refs, 1);
	atomic_fetch_add(&c->pending, 1);
	it->c = c;
}

/* Requests whose lease was given back (or taken back) go to the queue again. */
static void requeue_ready(void)
{
	void **w;
	size_t n = mds_lease_take_ready(&w);
	for (size_t i = 0; i < n; i++)
		enqueue(w[i]);
	free(w);
}

static void item_free(struct item *it)
{
	if (it->c) {
		atomic_fetch_sub(&it->c->pending, 1);
		conn_put(it->c);
	}
	free(it->bulk);
	free(it->rbulk);
	free(it);
}

static void rkey(uint8_t k[16], uint64_t client, uint64_t reqid)
{
	key_u64(k, client);
	key_u64(k + 8, reqid);
}

/* A reply we already gave to this request (a retry)?  Fills it->status/payload. */
static bool reply_cached(MDB_txn *t, struct item *it)
{
	uint8_t k[16];
	rkey(k, it->c->peer.client_id, it->h.reqid);
	MDB_val key = { 16, k }, val;
	if (mdb_get(t, M.db_reply, &key, &val) || val.mv_size < 12 || val.mv_size - 12 > SFS_MAX_PAYLOAD)
		return false;
	const uint8_t *v = val.mv_data;
	it->status = (int32_t)(((uint32_t)v[8] << 24) | ((uint32_t)v[9] << 16) | ((uint32_t)v[10] << 8) | v[11]);
	it->plen = (int)(val.mv_size - 12);
	memcpy(it->payload, v + 12, (size_t)it->plen);
	return true;
}

static void reply_remember(MDB_txn *t, struct item *it)
{
	uint8_t k[16], v[12 + SFS_MAX_PAYLOAD];
	struct pack_w w;
	rkey(k, it->c->peer.client_id, it->h.reqid);
	pw_init(&w, v, sizeof(v));
	pw_u64(&w, (uint64_t)util_wall_ms());
	pw_u32(&w, (uint32_t)it->status);
	pw_bytes(&w, it->payload, (size_t)it->plen);
	MDB_val key = { 16, k }, val = { w.len, v };
	mdb_put(t, M.db_reply, &key, &val, 0);
}

/* Who asks, for the lease checks: clients that take leases may be granted
 * one; every client's requests are checked against other clients' leases. */
static void lease_ctx(struct mtx *x, struct conn *c)
{
	if (!c || c->peer.role != SFS_ROLE_CLIENT || !c->peer.client_id)
		return;
	x->client = c->peer.client_id;
	x->conn = c->peer.leases && !M.o.no_leases ? c : NULL;
}

/* Requests whose reply promises that the change is on disk: fsync's size,
 * the OST registry, and whatever lets an OSS destroy objects or a migrate
 * drop an OST (a change lost after that would point at destroyed data). */
static bool request_is_durable(const struct item *it)
{
	switch (it->h.op) {
	case SFS_CLTOMD_SETSIZE:
		return (it->in.setsize_req.flags & SFS_SETSIZE_SYNC) != 0;
	case SFS_OSTOMD_REGISTER:
	case SFS_OSTOMD_HEARTBEAT:
	case SFS_CLTOMD_SETLAYOUT:
	case SFS_CLTOMD_SWAPLAYOUT:
		return true;
	default:
		return false;
	}
}

static void apply_request(MDB_txn *parent, struct item *it)
{
	MDB_txn *child;
	it->durable = request_is_durable(it);
	if (it->c->peer.client_id && it->h.op != SFS_OSTOMD_HEARTBEAT && reply_cached(parent, it)) {
		log_debug("answering retried %s (req %" PRIu64 ") from the reply cache", sfs_op_name(it->h.op), it->h.reqid);
		return;
	}
	if (mdb_txn_begin(M.env, parent, 0, &child)) {
		it->status = SFS_S_IO;
		return;
	}
	struct mtx x = { &M, child, mds_now_ns(), false };
	lease_ctx(&x, it->c);
	x.async = (it->h.flags & SFS_FLAG_ASYNC) != 0;
	size_t rcap = 0;
	const struct sfs_opinfo *info = sfs_op_info(it->h.op);
	if (info && info->rep_bulk) {
		rcap = info->rep_bulk;
		it->rbulk = malloc(rcap);
		if (!it->rbulk) {
			mdb_txn_abort(child);
			it->status = SFS_S_NOMEM;
			return;
		}
	}
	struct mreq r = { &it->c->peer, it->h.op, &it->in, &it->out, it->bulk, it->blen, it->rbulk, rcap, 0 };
	memset(&it->out, 0, sizeof(it->out));
	int rc = mds_handle(&x, &r);
	if (rc == -MDS_ERECALL) {
		/* Another client's lease: wait for it (commit_batch parks us). */
		mdb_txn_abort(child);
		free(it->rbulk);
		it->rbulk = NULL;
		it->parked = x.recall;
		return;
	}
	if (!rc) {
		it->plen = sfs_encode(it->h.op, true, &it->out, it->payload, sizeof(it->payload));
		if (it->plen < 0)
			rc = it->plen;
	}
	if (rc) {
		mdb_txn_abort(child);
		it->status = sfs_status_from_errno(rc);
		it->plen = 0;
		it->rblen = 0;
		return;
	}
	if (mdb_txn_commit(child)) {
		it->status = SFS_S_IO;
		it->plen = 0;
		return;
	}
	it->status = 0;
	it->rblen = r.rblen;

	if (x.dirty && it->c->peer.client_id && it->h.op != SFS_OSTOMD_HEARTBEAT)
		reply_remember(parent, it);
}

static void apply_housekeeping(MDB_txn *parent, struct item *it)
{
	MDB_txn *child;
	if (mdb_txn_begin(M.env, parent, 0, &child))
		return;
	struct mtx x = { &M, child, mds_now_ns(), false };
	int rc = 0;
	switch (it->kind) {
	case ITEM_SWEEP_ORPHANS:
		rc = mds_destroy_orphans(&x, true);
		break;
	case ITEM_PRUNE:
		rc = mds_prune_replies(&x, util_wall_ms() - M.o.reply_ttl_ms);
		break;
	case ITEM_DROP_CLIENT:
		mds_drop_client_opens(&M, it->client);
		rc = mds_destroy_orphans(&x, true);
		break;
	default:
		break;
	}
	if (rc)
		mdb_txn_abort(child);
	else
		mdb_txn_commit(child);
}

/* Apply, commit and answer one batch.  Called with commit_lock held. */
static void commit_batch(struct item *batch)
{
	{
		MDB_txn *t;
		int rc = mdb_txn_begin(M.env, NULL, 0, &t);
		int n = 0;
		bool sync = M.o.sync_interval_ms == 0;
		for (struct item *it = batch; it; it = it->next, n++) {
			if (rc) {
				it->status = SFS_S_IO;
				continue;
			}
			if (it->kind == ITEM_REQ)
				apply_request(t, it);
			else
				apply_housekeeping(t, it);
			sync |= it->durable;
		}
		if (!rc && (M.next_ino >= M.ino_limit || M.next_objid >= M.objid_limit)) {
			/* Ids answered in this batch reached the durable limit:
			 * raise it, and answer only after the sync, so that ids
			 * are never handed out twice even after a power loss. */
			uint64_t il = M.next_ino + ID_CHUNK, ol = M.next_objid + ID_CHUNK;
			if (mds_meta_put_u64(t, &M, "ino_limit", il) || mds_meta_put_u64(t, &M, "objid_limit", ol)) {
				log_error("cannot reserve inode and object ids in '%s'; is its disk full?", M.o.dir);
				mdb_txn_abort(t);
				rc = MDB_MAP_FULL;
			} else {
				M.ino_limit = il;
				M.objid_limit = ol;
				sync = true;
			}
		}
		if (!rc && (rc = mdb_txn_commit(t)))
			log_error("cannot commit %d metadata changes: %s; is the disk of '%s' full?",
				  n, mdb_strerror(rc), M.o.dir);
		else if (rc && rc != MDB_MAP_FULL)
			log_error("cannot begin a metadata transaction: %s", mdb_strerror(rc));
		if (!rc) {
			atomic_fetch_add(&commits, 1);
			if (sync && mds_sync_now())
				rc = EIO;
		}
		if (!rc && M.o.fault_crash_after)
			for (struct item *it = batch; it; it = it->next)
				if (it->kind == ITEM_REQ && strrchr(sfs_op_name(it->h.op), '_') && !strcmp(strrchr(sfs_op_name(it->h.op), '_') + 1, M.o.fault_crash_after)) {
					log_error("fault injection: crashing after committing %s", sfs_op_name(it->h.op));
					_exit(9);
				}
		for (struct item *it = batch, *next; it; it = next) {
			next = it->next;
			if (it->kind == ITEM_REQ && it->parked.id) {
				struct mds_lease_ref lr = it->parked;
				it->parked.id = 0;
				if (!mds_lease_park(&lr, it))
					enqueue(it); /* given back meanwhile: run it again now */
				continue;
			}
			if (it->kind == ITEM_REQ) {
				if (rc)
					it->status = sfs_status_from_errno(rc == MDB_MAP_FULL ? ENOSPC : EIO);
				/* The answers of one batch to one client go out
				 * together: every one but the last with MSG_MORE. */
				bool more = next && next->kind == ITEM_REQ && !next->parked.id && next->c == it->c;
				conn_reply_more(it->c, it->h.op, it->h.reqid, it->status, it->payload,
						it->status ? 0 : (size_t)it->plen, it->rbulk, it->rblen, more);
			}
			item_free(it);
		}
		requeue_ready();
	}
}

/*
 * Group commit without a hand-off: the thread that queued a change becomes
 * the committer if no one else is, and takes everything queued meanwhile
 * into the same transaction.  A thread that finds the committer busy leaves
 * its change queued; the committer looks at the queue again after letting
 * go of the lock, so nothing queued is ever left behind.
 */
static void commit_pending(void)
{
	for (;;) {
		if (pthread_mutex_trylock(&commit_lock))
			return;
		pthread_mutex_lock(&q_lock);
		struct item *batch = q_head;
		q_head = NULL;
		q_tail = &q_head;
		pthread_mutex_unlock(&q_lock);
		if (batch)
			commit_batch(batch);
		pthread_mutex_unlock(&commit_lock);
		pthread_mutex_lock(&q_lock);
		bool more = q_head != NULL;
		pthread_mutex_unlock(&q_lock);
		if (!more)
			return;
	}
}

/* ---- connection threads: read requests, answer reads, queue changes ---- */

static bool mds_op(uint16_t op)
{
	return (op >= SFS_CLTOMD_LOOKUP && op <= SFS_CLTOMD_INORANGE) ||
	       op == SFS_OSTOMD_REGISTER || op == SFS_OSTOMD_HEARTBEAT;
}

/* Answer a read-only request in this thread.  True if the request was
 * taken over instead (parked behind another client's lease: answered later
 * by whoever runs it again); the caller then must not free it. */
static bool serve_read(struct conn *c, MDB_txn **rtxn, struct item *it)
{
	const struct sfs_opinfo *info = sfs_op_info(it->h.op);
	uint8_t *rb = NULL;
	size_t rcap = info->rep_bulk;
	int rc;
	if (rcap && !(rb = malloc(rcap))) {
		conn_reply(c, it->h.op, it->h.reqid, SFS_S_NOMEM, NULL, 0, NULL, 0);
		return false;
	}
	if (*rtxn)
		rc = mdb_txn_renew(*rtxn);
	else
		rc = mdb_txn_begin(M.env, NULL, MDB_RDONLY, rtxn);
	if (rc) {
		*rtxn = NULL;
		free(rb);
		conn_reply(c, it->h.op, it->h.reqid, SFS_S_IO, NULL, 0, NULL, 0);
		return false;
	}
	struct mtx x = { &M, *rtxn, mds_now_ns(), false };
	lease_ctx(&x, c);
	struct mreq r = { &c->peer, it->h.op, &it->in, &it->out, it->bulk, it->blen, rb, rcap, 0 };
	memset(&it->out, 0, sizeof(it->out));
	rc = mds_handle(&x, &r);
	mdb_txn_reset(*rtxn);
	if (rc == -MDS_ERECALL) {
		free(rb);
		item_adopt(it, c);
		if (!mds_lease_park(&x.recall, it)) {
			enqueue(it);
			commit_pending();
		}
		return true;
	}
	int plen = 0;
	if (!rc && (plen = sfs_encode(it->h.op, true, &it->out, it->payload, sizeof(it->payload))) < 0)
		rc = plen;
	conn_reply(c, it->h.op, it->h.reqid, sfs_status_from_errno(rc), it->payload,
		   rc ? 0 : (size_t)plen, rb, rc ? 0 : r.rblen);
	free(rb);
	return false;
}

/*
 * OPEN, and a CLOSE that brings no size, change only the open-file table in
 * memory (unless the close is the last one of an unlinked file, which
 * destroys it).  They need no write transaction: holding the commit lock
 * with nothing queued, no change is being applied, so a read transaction
 * sees the latest state and the table update is ordered with every commit
 * (an unlink committed later sees the open).  When a commit is under way,
 * they take the queue like any change.  Neither was ever kept in the reply
 * cache (they do not change the database), so a retry behaves as before.
 */
static bool memory_only(const struct item *it)
{
	return it->h.op == SFS_CLTOMD_OPEN || (it->h.op == SFS_CLTOMD_CLOSE && !it->in.close_req.has_size);
}

static bool serve_memory_only(struct conn *c, MDB_txn **rtxn, struct item *it)
{
	if (pthread_mutex_trylock(&commit_lock))
		return false;
	pthread_mutex_lock(&q_lock);
	bool idle = q_head == NULL;
	pthread_mutex_unlock(&q_lock);
	bool served = false;
	if (idle && it->h.op == SFS_CLTOMD_CLOSE) {
		/* The last close of an unlinked file destroys it: that is a change. */
		int rc = *rtxn ? mdb_txn_renew(*rtxn) : mdb_txn_begin(M.env, NULL, MDB_RDONLY, rtxn);
		if (rc) {
			*rtxn = NULL;
			idle = false;
		} else {
			struct mtx x = { &M, *rtxn, 0, false };
			struct mds_inode *i = malloc(sizeof(*i));
			idle = i && inode_get(&x, it->in.close_req.ino, i) == 0 && i->a.nlink > 0;
			free(i);
			mdb_txn_reset(*rtxn);
		}
	}
	if (idle) {
		serve_read(c, rtxn, it);
		served = true;
	}
	pthread_mutex_unlock(&commit_lock);
	/* A change queued while we held the lock found it taken and left the
	 * commit to its holder: that is us now. */
	commit_pending();
	return served;
}

static bool squash_exempt(int fd)
{
	if (!M.o.nosquash_nets)
		return false;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) || ss.ss_family != AF_INET)
		return false;
	uint32_t a = ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr);
	char *nets = strdup(M.o.nosquash_nets), *save = NULL;
	bool hit = false;
	for (char *n = strtok_r(nets, ",", &save); n && !hit; n = strtok_r(NULL, ",", &save)) {
		char *slash = strchr(n, '/');
		long bits = 32;
		if (slash) {
			*slash = 0;
			bits = strtol(slash + 1, NULL, 10);
		}
		struct in_addr net;
		if (bits < 0 || bits > 32 || inet_pton(AF_INET, n, &net) != 1)
			continue;
		uint32_t mask = bits ? 0xffffffffu << (32 - bits) : 0;
		hit = (a & mask) == (ntohl(net.s_addr) & mask);
	}
	free(nets);
	return hit;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	MDB_txn *rtxn = NULL;
	struct net_rbuf *rb = NULL;
	uint8_t p[SFS_MAX_PAYLOAD];
	if (sfs_serve_hello(c->fd, M.o.munge_socket, M.o.fsname, 1,
			    M.squash && c->squash ? SFS_HELLO_SQUASHED : 0, &c->peer))
		goto out;
	c->peer.squash = c->squash;
	log_debug("'%s' connected as role %u uid %u", c->peer.name, c->peer.role, c->peer.uid);
	rb = malloc(sizeof(*rb));
	if (!rb)
		goto out;
	rb->fd = c->fd;
	rb->off = rb->len = 0;
	if (c->peer.role == SFS_ROLE_CLIENT)
		session_seen(c->peer.client_id, 1);
	/* Changes queued by this thread and not committed yet: while more
	 * requests are already read in (a client that does not wait for the
	 * answers: asynchronous creates), they are taken into one commit. */
	int uncommitted = 0;
	for (;;) {
		struct sfs_hdr h;
		uint8_t hb[SFS_HDR_LEN];
		if (uncommitted && (rb->off == rb->len || uncommitted >= 64)) {
			commit_pending();
			uncommitted = 0;
		}
		int rc = net_rbuf_read(rb, c->fd, hb, sizeof(hb));
		if (!rc)
			rc = sfs_hdr_decode(hb, &h);
		if (rc == -EPIPE)
			break;
		if (rc) {
			log_warn("dropping '%s': %s", c->peer.name, rc == -EPROTO ? "malformed frame header" : strerror(-rc));
			break;
		}
		if ((h.flags & SFS_FLAG_REPLY) || !mds_op(h.op)) {
			log_warn("dropping '%s': unexpected %s %s", c->peer.name, sfs_op_name(h.op),
				 (h.flags & SFS_FLAG_REPLY) ? "reply" : "request");
			break;
		}
		struct item *it = calloc(1, sizeof(*it));
		if (!it)
			break;
		it->h = h;
		if ((rc = net_rbuf_read(rb, c->fd, p, h.plen))) {
			free(it);
			break;
		}
		if (h.blen) {
			it->bulk = malloc(h.blen);
			if (!it->bulk || net_rbuf_read(rb, c->fd, it->bulk, h.blen)) {
				free(it->bulk);
				free(it);
				break;
			}
			it->blen = h.blen;
		}
		if (sfs_decode(h.op, false, p, h.plen, &it->in)) {
			log_warn("dropping '%s': malformed %s request", c->peer.name, sfs_op_name(h.op));
			free(it->bulk);
			free(it);
			break;
		}
		const struct sfs_opinfo *info = sfs_op_info(h.op);
		/* A client's requests are answered in the order they came when it
		 * did not wait for the earlier ones (asynchronous creates and
		 * removes): while one of this connection's changes is queued or
		 * parked, a read queues behind it too. */
		bool behind = atomic_load(&c->pending) > 0;
		if (info->mutating && memory_only(it) && !behind && serve_memory_only(c, &rtxn, it)) {
			free(it->bulk);
			free(it);
		} else if (info->mutating || behind) {
			item_adopt(it, c);
			enqueue(it);
			uncommitted++;
		} else if (!serve_read(c, &rtxn, it)) {
			free(it->bulk);
			free(it);
		}
	}
	if (uncommitted)
		commit_pending();
	if (c->peer.role == SFS_ROLE_CLIENT)
		session_seen(c->peer.client_id, -1);
	/* Its leases are void: whoever waits for them may go on. */
	mds_lease_conn_gone(c);
	requeue_ready();
	commit_pending();
out:
	free(rb);
	if (rtxn)
		mdb_txn_abort(rtxn);
	conn_put(c);
	return NULL;
}

/* ---- housekeeping ---- */

static void queue_kind(enum item_kind k, uint64_t client)
{
	struct item *it = calloc(1, sizeof(*it));
	if (!it)
		return;
	it->kind = k;
	it->client = client;
	enqueue(it);
	commit_pending();
}

static void *housekeeping_main(void *arg)
{
	int64_t last_prune = util_mono_ms();
	bool swept = false;
	while (!stopping) {
		struct timespec ts = { 1, 0 };
		nanosleep(&ts, NULL);
		int64_t now = util_mono_ms();
		/* Clients that had files open before a restart have had their chance to reopen. */
		if (!swept && now - M.started_ms >= M.o.recovery_ms) {
			queue_kind(ITEM_SWEEP_ORPHANS, 0);
			swept = true;
		}
		/* Clients gone longer than the recovery window lose their open files. */
		pthread_mutex_lock(&M.lock);
		for (struct session **pp = &M.sessions; *pp;) {
			struct session *s = *pp;
			if (s->nconns == 0 && now - s->gone_ms >= M.o.recovery_ms) {
				*pp = s->next;
				pthread_mutex_unlock(&M.lock);
				queue_kind(ITEM_DROP_CLIENT, s->client);
				free(s);
				pthread_mutex_lock(&M.lock);
				pp = &M.sessions;
				continue;
			}
			pp = &s->next;
		}
		pthread_mutex_unlock(&M.lock);
		if (now - last_prune >= 60000) {
			queue_kind(ITEM_PRUNE, 0);
			last_prune = now;
		}
	}
	return NULL;
}

static void on_signal(int sig)
{
	stopping = 1;
}

int main(int argc, char **argv)
{
	err_set_progname("sfs-mds");
	int idx = cfg_parse_args(&mds_prog, &M.o, argc, argv);
	if (idx != argc)
		die("unexpected argument '%s'; see sfs-mds --help", argv[idx]);
	int lvl = log_level_parse(M.o.log_level);
	if (lvl < 0)
		die("unknown log level '%s'; use error, warn, info or debug", M.o.log_level);
	log_init("sfs-mds", (enum log_level)lvl);
	if (M.o.log_file && log_open_file(M.o.log_file))
		die("cannot open log file '%s'", M.o.log_file);
	if (!M.o.dir)
		die("--dir is required; see sfs-mds --help");
	if (strlen(M.o.fsname) > SFS_FSNAME_MAX || !M.o.fsname[0])
		die("file system name '%s' must be 1 to %d characters", M.o.fsname, SFS_FSNAME_MAX);
	if (M.o.stripe_size % SFS_MIN_STRIPE_SIZE)
		die("stripe size %lld is not a multiple of 64k", (long long)M.o.stripe_size);
	if (M.o.root_squash) {
		unsigned u, g;
		if (sscanf(M.o.root_squash, "%u:%u", &u, &g) != 2)
			die("bad --root-squash '%s'; expected UID:GID", M.o.root_squash);
		M.squash = true;
		M.squash_uid = u;
		M.squash_gid = g;
	}
	pthread_mutex_init(&M.lock, NULL);
	M.started_ms = util_mono_ms();
	if (mds_db_open(&M))
		exit(1);
	M.boot_next_ino = M.next_ino;
	static const struct mds_lease_ops lops = { conn_hold, conn_put_v, conn_recall };
	mds_lease_init(&lops, M.o.lease_recall_ms, M.o.lease_cooldown_ms);
	signal(SIGPIPE, SIG_IGN);
	int lfd = net_listen_tcp(M.o.listen, (int)M.o.port, 256);
	if (lfd < 0)
		die("cannot listen on '%s:%lld': %s; is the port in use?", M.o.listen, (long long)M.o.port, strerror(-lfd));
	int port = net_local_port(lfd);
	if (M.o.pid_file && util_write_pidfile(M.o.pid_file))
		die("cannot write pid file '%s'", M.o.pid_file);
	pthread_t ht, st;
	if (pthread_create(&ht, NULL, housekeeping_main, NULL) ||
	    pthread_create(&st, NULL, syncer_main, NULL))
		die("cannot start the server threads");
	if (M.o.port_file) {
		char s[16];
		int n = snprintf(s, sizeof(s), "%d\n", port);
		int rc = util_write_file_atomic(M.o.port_file, s, (size_t)n, 0644);
		if (rc)
			die("cannot write port file '%s': %s", M.o.port_file, strerror(-rc));
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	log_info("file system '%s' served on %s:%d (database '%s', %u OSTs known)", M.o.fsname, M.o.listen,
		 port, M.o.dir, M.nost);
	while (!stopping) {
		int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				log_error("accept failed: %s", strerror(errno));
			continue;
		}
		net_tune_tcp(cfd);
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(cfd);
			continue;
		}
		c->fd = cfd;
		c->squash = !squash_exempt(cfd);
		atomic_init(&c->refs, 1);
		pthread_mutex_init(&c->send_lock, NULL);
		pthread_t t;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &at, conn_main, c))
			conn_put(c);
		pthread_attr_destroy(&at);
	}
	log_info("stopping on signal");
	/* Commit what is queued and keep the commit lock to the end, so that
	 * no connection thread commits into a closed database; the database is
	 * consistent at every commit, so nothing else needs to happen. */
	pthread_mutex_lock(&commit_lock);
	pthread_mutex_lock(&q_lock);
	struct item *rest = q_head;
	q_head = NULL;
	q_tail = &q_head;
	pthread_mutex_unlock(&q_lock);
	if (rest)
		commit_batch(rest);
	mds_db_close(&M);
	return 0;
}
