/*
 * sfs-mount: the StratusFS FUSE client (libfuse3 low-level API).
 *
 *   sfs-mount [options] HOST[:PORT]:/FSNAME MOUNTPOINT [-o opt,opt...]
 *
 * Metadata goes to the MDS, data straight to the OSSs, every stripe of a
 * request at once (libsfs).  Permissions are checked here and by the MDS
 * (with the caller's uid, gid and groups), not by the kernel (see
 * "permissions"), so a client that skips the kernel gains nothing.
 * Consistency is close-to-open: sizes written here reach the MDS at
 * flush/close/fsync (for a write-only file made by an asynchronous create,
 * before anybody else can see it: nf_revoke_flush), and an open drops
 * cached pages.
 */
/* 3.12: the loop configuration with a settable thread limit (the older
 * one caps worker threads at 10, fewer than the requests we keep in flight). */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "common/net.h"
#include "common/util.h"
#include "libsfs/sfs_fs.h"
#include "libsfs/sfs_lcache.h"
#include "libsfs/sfs_layout.h"

struct mount_opts {
	int64_t timeout_ms;
	char *munge_socket;
	int64_t conns;
	int64_t mds_conns;
	int64_t attr_timeout_ms;
	int64_t entry_timeout_ms;
	bool foreground;
	bool fuse_debug;
	char *log_file;
	char *log_level;
	char *options;
	int64_t threads;
	char *pid_file;
	int64_t readahead;
	int64_t write_behind;
	bool direct_write;
	bool leases;
	bool async_ops;
};

static const struct cfg_opt mount_table[] = {
	CFG_DURATION("timeout", 't', struct mount_opts, timeout_ms, "100s", 100, 86400000, "an operation waits at most this long for a server, then fails with EIO"),
	CFG_STR("munge-socket", 0, struct mount_opts, munge_socket, NULL, "munged socket (default: MUNGE's own)"),
	CFG_INT("conns", 0, struct mount_opts, conns, "2", 1, 8, "connections to each OST"),
	CFG_INT("mds-conns", 0, struct mount_opts, mds_conns, "1", 1, 8, "connections to the MDS (it serves each with one thread)"),
	CFG_DURATION("attr-timeout", 0, struct mount_opts, attr_timeout_ms, "1s", 0, 3600000, "how long the kernel may cache attributes (an open always gets fresh ones: close-to-open)"),
	CFG_DURATION("entry-timeout", 0, struct mount_opts, entry_timeout_ms, "1s", 0, 3600000, "how long the kernel may cache names"),
	CFG_BOOL("foreground", 'f', struct mount_opts, foreground, "false", "stay in the foreground"),
	CFG_BOOL("fuse-debug", 0, struct mount_opts, fuse_debug, "false", "print every FUSE request (libfuse debug)"),
	CFG_STR("log-file", 0, struct mount_opts, log_file, NULL, "log here (default: stderr in the foreground, nowhere otherwise)"),
	CFG_STR("log-level", 0, struct mount_opts, log_level, "info", "error, warn, info or debug"),
	CFG_STR("options", 'o', struct mount_opts, options, NULL, "comma-separated options: any setting above (timeout=30s, munge_socket=...) or a FUSE mount option (ro, allow_other...)"),
	CFG_INT("threads", 0, struct mount_opts, threads, "32", 2, 256, "FUSE worker threads: how many requests are served at once"),
	CFG_STR("pid-file", 0, struct mount_opts, pid_file, NULL, "write the process id here once mounted"),
	CFG_SIZE("write-behind", 0, struct mount_opts, write_behind, "32m", 0, 1LL << 30, "bytes of written data that may be on their way to the OSSs after write() returned (0: every write waits); errors then show at the next write, fsync or close"),
	CFG_BOOL("leases", 0, struct mount_opts, leases, "true", "take directory leases from the MDS: answer lookups and stats of names this mount has seen until another client needs them (off with more than one mds-conns)"),
	CFG_BOOL("async", 0, struct mount_opts, async_ops, "true", "under a directory lease, answer creates and removes at once and send them to the MDS behind the answer (errors are logged and fail the file's later use)"),
	CFG_BOOL("direct-write", 0, struct mount_opts, direct_write, "true", "write-only opens bypass the kernel's page cache (FUSE direct I/O): no copy into pages nobody can read through that descriptor"),
	CFG_SIZE("readahead", 0, struct mount_opts, readahead, "8m", 0, 1LL << 30, "the kernel's read-ahead for this mount (0: leave the kernel's 128k); several stripes ahead keep several OSSs busy for one reader"),
	CFG_END
};

static const struct cfg_program mount_prog = {
	"sfs-mount", "[options] HOST[:PORT]:/FSNAME MOUNTPOINT",
	"Mount a StratusFS file system with FUSE.",
	mount_table
};

static struct mount_opts O;
static struct sfs_fs *FS;
static struct fuse_session *SE;
static double attr_to, entry_to;

/* ---- open files ---- */

struct node {
	uint64_t ino;
	int refs;
	pthread_mutex_t lock;
	struct sfs_layout layout;
	uint64_t size;          /* the largest size we know of */
	uint64_t written_end;   /* end of our writes not yet told to the MDS */
	int64_t mtime;          /* of our last write */
	bool dirty;
	int telling;            /* sizes on their way to the MDS, not answered yet: written_end beats its answers */
	int inflight;           /* write-behind writes not yet answered by the OSSs */
	struct wjob *wb_jobs;   /* those writes (their ranges), under lock */
	int werr;               /* first error of one of them, reported at the next write, flush or fsync */
	bool pending;           /* made by an asynchronous create not answered yet: no layout */
	int unreg;              /* open handles the MDS has not been told of (asynchronous creates) */
	bool registering;       /* register_opens is telling it of them */
	int cerr;               /* that create failed: every use of the file fails so */
	int nf_open;            /* handles answered with FOPEN_NOFLUSH: their close sends us nothing (nf_*) */
	bool nf_through;        /* the lease they were made under is gone: writes go through at once */
	struct sfs_cred nf_cred; /* whose sizes those handles' writes tell the MDS */
	pthread_cond_t idle;    /* inflight dropped to 0 */
	struct node *next;
};

#define NODE_BUCKETS 1024
static struct node *nodes[NODE_BUCKETS];

/* A file handle is its node's address; the low bit marks a handle whose
 * close the kernel does not tell us of (FOPEN_NOFLUSH after an
 * asynchronous create, see nf_revoke_flush). */
#define FH_NOFLUSH ((uint64_t)1)
static struct node *fh_node(const struct fuse_file_info *fi)
{
	return (struct node *)(uintptr_t)(fi->fh & ~FH_NOFLUSH);
}
static int wb_wait_locked(struct node *n, bool take);
static int wb_wait(struct node *n, bool take);
static bool data_direct_io(int flags);
static pthread_mutex_t nodes_lock = PTHREAD_MUTEX_INITIALIZER;

static struct node *node_find_locked(uint64_t ino)
{
	for (struct node *n = nodes[ino % NODE_BUCKETS]; n; n = n->next)
		if (n->ino == ino)
			return n;
	return NULL;
}

static struct node *node_get(uint64_t ino, const struct sfs_attr *a, const struct sfs_layout *l)
{
	pthread_mutex_lock(&nodes_lock);
	struct node *n = node_find_locked(ino);
	if (!n && (n = calloc(1, sizeof(*n)))) {
		n->ino = ino;
		pthread_mutex_init(&n->lock, NULL);
		pthread_cond_init(&n->idle, NULL);
		n->next = nodes[ino % NODE_BUCKETS];
		nodes[ino % NODE_BUCKETS] = n;
	}
	if (n) {
		n->refs++;
		pthread_mutex_lock(&n->lock);
		if (l->gen >= n->layout.gen)
			n->layout = *l;
		if (a->size > n->size || !n->dirty)
			n->size = a->size > n->written_end ? a->size : n->written_end;
		pthread_mutex_unlock(&n->lock);
	}
	pthread_mutex_unlock(&nodes_lock);
	return n;
}

/* Drop a reference; true when it was the last. */
static bool node_put(struct node *n)
{
	pthread_mutex_lock(&nodes_lock);
	bool last = --n->refs == 0;
	if (last) {
		for (struct node **pp = &nodes[n->ino % NODE_BUCKETS]; *pp; pp = &(*pp)->next)
			if (*pp == n) {
				*pp = n->next;
				break;
			}
	}
	pthread_mutex_unlock(&nodes_lock);
	if (last) {
		pthread_mutex_destroy(&n->lock);
		pthread_cond_destroy(&n->idle);
		free(n);
	}
	return last;
}

/* Our view of an inode's size beats the MDS's while we have unflushed writes. */
static void merge_local(struct sfs_attr *a)
{
	pthread_mutex_lock(&nodes_lock);
	struct node *n = node_find_locked(a->ino);
	if (n) {
		pthread_mutex_lock(&n->lock);
		if ((n->dirty || n->telling) && n->written_end > a->size) {
			a->size = n->written_end;
			a->blocks = (a->size + 511) / 512;
			if (n->mtime > a->mtime)
				a->mtime = n->mtime;
		}
		if (a->size > n->size)
			n->size = a->size;
		pthread_mutex_unlock(&n->lock);
	}
	pthread_mutex_unlock(&nodes_lock);
}

/* ---- directory attributes from the MDS's answer to our own change ----
 *
 * Every create or remove in a directory makes the kernel drop that
 * directory's attributes, and its next path walk asks for them again (for
 * the permission check) before the next create: a round trip to the MDS per
 * create.  The MDS sends the directory's attributes after the change with
 * its answer, and we answer that GETATTR from them, for what is left of
 * attr_timeout since the change (so they are never older than a kernel's
 * own cache could be). */

#define DCACHE_SLOTS 1024
struct dattr {
	uint64_t ino;
	int64_t until_ms;
	struct sfs_attr a;
};
static struct dattr dcache[DCACHE_SLOTS];
static pthread_mutex_t dcache_lock = PTHREAD_MUTEX_INITIALIZER;

static void dcache_put(const struct sfs_attr *a)
{
	if (O.attr_timeout_ms <= 0 || !S_ISDIR(a->mode) || !a->ino)
		return;
	pthread_mutex_lock(&dcache_lock);
	struct dattr *d = &dcache[a->ino % DCACHE_SLOTS];
	d->ino = a->ino;
	d->a = *a;
	d->until_ms = util_mono_ms() + O.attr_timeout_ms;
	pthread_mutex_unlock(&dcache_lock);
}

/* The cached attributes and how many ms they stay valid, or 0. */
static int64_t dcache_get(uint64_t ino, struct sfs_attr *a)
{
	int64_t left = 0;
	pthread_mutex_lock(&dcache_lock);
	struct dattr *d = &dcache[ino % DCACHE_SLOTS];
	if (d->ino == ino) {
		left = d->until_ms - util_mono_ms();
		if (left > 0)
			*a = d->a;
		else
			left = 0;
	}
	pthread_mutex_unlock(&dcache_lock);
	return left;
}

/* This mount changes ino's attributes: forget what it cached of them, here
 * and in the lease cache. */
static void attrs_drop(uint64_t ino)
{
	pthread_mutex_lock(&dcache_lock);
	struct dattr *d = &dcache[ino % DCACHE_SLOTS];
	if (d->ino == ino)
		d->ino = 0;
	pthread_mutex_unlock(&dcache_lock);
	lc_drop_ino(ino);
}

static void dcache_clear(void)
{
	pthread_mutex_lock(&dcache_lock);
	for (int i = 0; i < DCACHE_SLOTS; i++)
		dcache[i].ino = 0;
	pthread_mutex_unlock(&dcache_lock);
}

/* ---- names known to be absent ----
 *
 * The kernel sends a LOOKUP before every create, for a name that is almost
 * always missing: an MDS round trip inside the directory's lock, which
 * serialises creates in one directory.  The MDS counts the names added to a
 * directory, by anyone (pseq in the answer to every create, mkdir, link and
 * symlink).  A directory this mount made starts empty; while each of our
 * additions finds the count one above the last we saw, nobody else added a
 * name, and the names we added (less those we removed) are all there is.
 * A lookup of any other name is then answered "missing" here, as long as
 * the count was confirmed less than entry_timeout ago: a name made on
 * another mount stays unseen here for at most entry_timeout, as a negative
 * entry cached by the kernel would (entry_timeout 0 turns this off).  A
 * count that jumps, an MDS reconnect, a rename into the directory or an
 * EEXIST forgets the directory: lookups go to the MDS again.  Names are
 * kept as 64-bit hashes with a count; a collision only sends a lookup to
 * the MDS.  At most DK_DIRS directories of DK_MAX_NAMES names each. */

#define DK_DIRS 16
#define DK_MAX_NAMES 65536

struct dknow {
	uint64_t ino;          /* 0: a free slot */
	uint64_t seq;          /* the directory's name count as last confirmed */
	int64_t confirmed_ms;  /* when the request that confirmed it was sent */
	uint64_t gen;          /* the MDS connection's generation then */
	uint64_t *keys;        /* open addressing; 0 never stored */
	uint32_t *cnt;         /* 0: a deleted slot */
	size_t cap, used, live;
};
static struct dknow dks[DK_DIRS];
static atomic_uint_fast64_t st_lookup_local, st_lookup_mds, st_create_found; /* for user.sfs.stats */
static pthread_mutex_t dk_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t dk_hash(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	h ^= h >> 29;
	return h ? h : 1;
}

static void dk_clear(struct dknow *d)
{
	free(d->keys);
	free(d->cnt);
	memset(d, 0, sizeof(*d));
}

static struct dknow *dk_find(uint64_t ino)
{
	for (int i = 0; i < DK_DIRS; i++)
		if (dks[i].ino == ino)
			return &dks[i];
	return NULL;
}

static size_t dk_slot(const struct dknow *d, uint64_t h)
{
	size_t m = d->cap - 1, i = (size_t)h & m;
	while (d->keys[i] && d->keys[i] != h)
		i = (i + 1) & m;
	return i;
}

/* Room for one more key; false if the directory got too big to track. */
static bool dk_grow(struct dknow *d)
{
	if (d->live >= DK_MAX_NAMES)
		return false;
	if ((d->used + 1) * 4 < d->cap * 3)
		return true;
	size_t cap = 64;
	while (cap < (d->live + 1) * 2)
		cap *= 2;
	struct dknow n = *d;
	n.cap = cap;
	n.used = 0;
	n.keys = calloc(cap, sizeof(*n.keys));
	n.cnt = calloc(cap, sizeof(*n.cnt));
	if (!n.keys || !n.cnt) {
		free(n.keys);
		free(n.cnt);
		return false;
	}
	for (size_t i = 0; i < d->cap; i++)
		if (d->cnt[i]) {
			size_t j = dk_slot(&n, d->keys[i]);
			n.keys[j] = d->keys[i];
			n.cnt[j] = d->cnt[i];
			n.used++;
		}
	free(d->keys);
	free(d->cnt);
	*d = n;
	return true;
}

/* We made directory `ino` (empty, name count `seq`) with a request sent at `sent_ms`. */
static void dk_start(uint64_t ino, uint64_t seq, int64_t sent_ms)
{
	if (O.entry_timeout_ms <= 0 || !ino || !seq)
		return;
	pthread_mutex_lock(&dk_lock);
	struct dknow *d = dk_find(ino);
	if (!d) {
		d = &dks[0];
		for (int i = 0; i < DK_DIRS && d->ino; i++)
			if (!dks[i].ino || dks[i].confirmed_ms < d->confirmed_ms)
				d = &dks[i];
	}
	dk_clear(d);
	d->ino = ino;
	d->seq = seq;
	d->confirmed_ms = sent_ms;
	d->gen = sfs_conn_generation(sfs_fs_mds(FS));
	pthread_mutex_unlock(&dk_lock);
}

static void dk_drop(uint64_t ino)
{
	pthread_mutex_lock(&dk_lock);
	struct dknow *d = dk_find(ino);
	if (d)
		dk_clear(d);
	pthread_mutex_unlock(&dk_lock);
}

/* We added `name` to `dir`; the MDS says the count is now `pseq`. */
static void dk_added(uint64_t dir, const char *name, uint64_t pseq, int64_t sent_ms)
{
	pthread_mutex_lock(&dk_lock);
	struct dknow *d = dk_find(dir);
	if (d) {
		if (d->gen != sfs_conn_generation(sfs_fs_mds(FS)) || pseq != d->seq + 1 || !dk_grow(d)) {
			dk_clear(d);
		} else {
			uint64_t h = dk_hash(name);
			size_t i = dk_slot(d, h);
			if (!d->keys[i]) {
				d->keys[i] = h;
				d->used++;
			}
			if (d->cnt[i]++ == 0)
				d->live++;
			d->seq = pseq;
			if (sent_ms > d->confirmed_ms)
				d->confirmed_ms = sent_ms;
		}
	}
	pthread_mutex_unlock(&dk_lock);
}

/* We removed `name` from `dir` (no count change: removals do not matter). */
static void dk_removed(uint64_t dir, const char *name)
{
	pthread_mutex_lock(&dk_lock);
	struct dknow *d = dk_find(dir);
	if (d && d->cap) {
		size_t i = dk_slot(d, dk_hash(name));
		if (d->keys[i] && d->cnt[i] && --d->cnt[i] == 0)
			d->live--;
	}
	pthread_mutex_unlock(&dk_lock);
}

/* Is `name` known to be missing from `dir`? */
static bool dk_absent(uint64_t dir, const char *name)
{
	if (O.entry_timeout_ms <= 0 || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	bool absent = false;
	pthread_mutex_lock(&dk_lock);
	struct dknow *d = dk_find(dir);
	if (d && d->gen == sfs_conn_generation(sfs_fs_mds(FS)) && util_mono_ms() - d->confirmed_ms < O.entry_timeout_ms) {
		absent = true;
		if (d->cap) {
			size_t i = dk_slot(d, dk_hash(name));
			absent = !d->keys[i] || !d->cnt[i];
		}
	}
	pthread_mutex_unlock(&dk_lock);
	return absent;
}

/* ---- directory leases (libsfs/sfs_lcache.h) ----
 *
 * A lookup or create answered under a lease of the MDS on the directory is
 * kept, and later lookups and stats of it are answered here until the MDS
 * recalls the lease: that happens before any other client reads or
 * changes the directory or changes the inode, so the answer is as fresh as
 * the MDS's own.  The recall is forgotten at once, in the receiver thread
 * (before any reply read after it), and given back to the MDS by the
 * releaser thread. */

static void register_opens(void);
static void nf_revoke_flush(void);

/* Work for the releaser thread: give a lease back, or make the kernel
 * forget a name an asynchronous create or remove got wrong. */
struct lwork {
	bool inval;                      /* else a RELEASE */
	struct sfs_lease_msg m;          /* RELEASE: dir, lease; inval: dir */
	char name[SFS_NAME_MAX + 1];
	struct lwork *next;
};
static pthread_mutex_t rq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rq_cond = PTHREAD_COND_INITIALIZER;
static struct lwork *rq_head, **rq_tail = &rq_head;
static pthread_t releaser;
/* Asynchronous senders hold it (read) from their lease check to the send;
 * the releaser (write) before a RELEASE: so every asynchronous request sent
 * under a lease reaches the MDS before the lease is given back. */
static pthread_rwlock_t lease_send_lock = PTHREAD_RWLOCK_INITIALIZER;

static void lwork_queue(struct lwork *w)
{
	w->next = NULL;
	pthread_mutex_lock(&rq_lock);
	*rq_tail = w;
	rq_tail = &w->next;
	pthread_cond_signal(&rq_cond);
	pthread_mutex_unlock(&rq_lock);
}

static void on_recall(void *arg, uint16_t op, const void *msg)
{
	const struct sfs_lease_msg *m = msg;
	lc_lease_forget(m->dir, m->lease, sfs_conn_generation(sfs_fs_mds(FS)));
	struct lwork *w = calloc(1, sizeof(*w));
	if (!w) {
		log_error("out of memory: the lease on directory %" PRIu64 " is not given back; the MDS takes it back after its timeout", m->dir);
		return;
	}
	w->m = *m;
	lwork_queue(w);
}

/* The kernel forgets dir/name (from the releaser: never inside a request). */
static void inval_later(uint64_t dir, const char *name)
{
	struct lwork *w = calloc(1, sizeof(*w));
	if (!w)
		return;
	w->inval = true;
	w->m.dir = dir;
	snprintf(w->name, sizeof(w->name), "%s", name);
	lwork_queue(w);
}

static void *releaser_main(void *arg)
{
	for (;;) {
		pthread_mutex_lock(&rq_lock);
		while (!rq_head) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			if (pthread_cond_timedwait(&rq_cond, &rq_lock, &ts) && !rq_head) {
				/* Asynchronous requests a connected MDS never answers
				 * fail after the timeout like any other. */
				pthread_mutex_unlock(&rq_lock);
				if (FS) /* NULL until the mount is made */
					sfs_conn_expire_detached(sfs_fs_mds(FS));
				pthread_mutex_lock(&rq_lock);
			}
		}
		struct lwork *w = rq_head;
		rq_head = w->next;
		if (!rq_head)
			rq_tail = &rq_head;
		pthread_mutex_unlock(&rq_lock);
		if (w->inval) {
			fuse_lowlevel_notify_inval_entry(SE, w->m.dir, w->name, strlen(w->name));
		} else {
			/* What closes of files made under leases left to do
			 * (nf_revoke_flush), then: any asynchronous request sent
			 * under the lease, or size told by a release, is on the
			 * socket before the RELEASE (the lease is forgotten
			 * already, so none starts now). */
			nf_revoke_flush();
			pthread_rwlock_wrlock(&lease_send_lock);
			pthread_rwlock_unlock(&lease_send_lock);
			/* Another client is about to change the directory: the
			 * MDS must know of our open files first. */
			register_opens();
			int rc = sfs_rpc(sfs_fs_mds(FS), SFS_CLTOMD_RELEASE, &w->m, NULL);
			if (rc)
				log_warn("giving back the lease on directory %" PRIu64 " failed: %s", w->m.dir, strerror(-rc));
		}
		free(w);
	}
	return NULL;
}

/* The MDS connection's generation, to tag what leases cover; 0: no leases. */
static uint64_t lease_gen(void)
{
	return O.leases && O.mds_conns <= 1 ? sfs_conn_generation(sfs_fs_mds(FS)) : 0;
}

/* dir/name -> *a answered with lease `lease` by a call started at generation gen. */
static void lease_entry(uint64_t gen, uint64_t dir, const char *name, const struct sfs_attr *a, uint64_t lease,
			uint64_t epoch)
{
	if (!gen || !lease || lease_gen() != gen)
		return; /* a reply to a call resent after a reconnect: its lease died with the old connection */
	lc_lease_add(dir, lease, gen);
	lc_put_entry(dir, name, a, lease, gen, epoch);
}

/* ---- helpers ---- */

static void cred_of(fuse_req_t req, struct sfs_cred *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	memset(c, 0, sizeof(*c));
	c->uid = ctx->uid;
	c->gid = ctx->gid;
	if (ctx->uid != 0) {
		gid_t g[SFS_MAX_GROUPS];
		int n = fuse_req_getgroups(req, SFS_MAX_GROUPS, g);
		if (n > SFS_MAX_GROUPS)
			n = SFS_MAX_GROUPS;
		for (int i = 0; i < n; i++)
			c->groups[i] = g[i];
		c->ngroups = n > 0 ? (uint32_t)n : 0;
	}
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return ts_ns(&t);
}

static void to_stat(const struct sfs_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blocks = (blkcnt_t)a->blocks;
	st->st_blksize = 1 << 20;
	st->st_atim.tv_sec = a->atime / 1000000000;
	st->st_atim.tv_nsec = a->atime % 1000000000;
	st->st_mtim.tv_sec = a->mtime / 1000000000;
	st->st_mtim.tv_nsec = a->mtime % 1000000000;
	st->st_ctim.tv_sec = a->ctime / 1000000000;
	st->st_ctim.tv_nsec = a->ctime % 1000000000;
}

/* ---- permissions ----
 *
 * sfs-mount checks permissions itself (the MDS checks every request it
 * serves again): the kernel's own checks (default_permissions) need fresh
 * attributes of every directory on a path, and a create or remove in a
 * directory makes the kernel ask for them again, a round trip per create.
 * Without them the kernel walks the names it has cached without asking
 * anyone, so only names in directories everybody may search are cached by
 * the kernel (child_entry_to); a walk through any other directory asks us
 * (a lookup), and we check the caller's search permission there.  Local
 * answers (lookups, asynchronous creates and removes, access) are given
 * only when the caller's permission is certain from attributes we hold;
 * otherwise the MDS decides. */

static bool root_is_root(void)
{
	return !(sfs_conn_hello_flags(sfs_fs_mds(FS)) & SFS_HELLO_SQUASHED);
}

/* Certainly allowed to do mask (4 read, 2 write, 1 search/execute) on an
 * inode with attributes a?  false: ask the MDS. */
static bool local_may(const struct sfs_cred *c, const struct sfs_attr *a, unsigned mask)
{
	if (c->uid == 0)
		return root_is_root() && (!(mask & 1) || S_ISDIR(a->mode) || (a->mode & 0111));
	unsigned bits = a->mode & 7;
	if (c->uid == a->uid) {
		bits = (a->mode >> 6) & 7;
	} else {
		bool in = c->gid == a->gid;
		for (uint32_t i = 0; i < c->ngroups && !in; i++)
			in = c->groups[i] == a->gid;
		if (in)
			bits = (a->mode >> 3) & 7;
	}
	return (bits & mask) == mask;
}

/* The attributes of directory dir if this mount holds them fresh. */
static bool dir_attr(uint64_t dir, struct sfs_attr *a)
{
	if (dcache_get(dir, a) > 0)
		return true;
	uint64_t gen = lease_gen();
	return gen && lc_get_attr(dir, gen, a) && S_ISDIR(a->mode);
}

/* How long the kernel may keep the names of a directory with attributes pa
 * (NULL: unknown): only if everybody may search it. */
static double child_entry_to(const struct sfs_attr *pa)
{
	return pa && S_ISDIR(pa->mode) && (pa->mode & 0111) == 0111 ? entry_to : 0;
}

static double child_entry_to_of(uint64_t dir)
{
	struct sfs_attr pa;
	return dir_attr(dir, &pa) ? child_entry_to(&pa) : 0;
}

static void reply_entry_to(fuse_req_t req, struct sfs_attr *a, double eto)
{
	struct fuse_entry_param e;
	memset(&e, 0, sizeof(e));
	merge_local(a);
	e.ino = a->ino;
	e.generation = a->gen;
	to_stat(a, &e.attr);
	e.attr_timeout = attr_to;
	e.entry_timeout = eto;
	fuse_reply_entry(req, &e);
}

static void reply_attr(fuse_req_t req, struct sfs_attr *a)
{
	struct stat st;
	merge_local(a);
	to_stat(a, &st);
	fuse_reply_attr(req, &st, attr_to);
}

#define MDS (sfs_fs_mds_any(FS))

/* ---- read-ahead ----
 * The kernel gives a FUSE mount 128 KiB of read-ahead, so a 1 MiB read
 * arrives as eight 128 KiB requests, one after the other.  A bigger window
 * (the bdi's read_ahead_kb) makes it 1 MiB requests, several in flight, on
 * several OSSs.  It can be set only once the kernel has taken our INIT
 * answer (which resets it), so the first request after INIT does it. */

static char mnt_path[4096];
static pthread_once_t readahead_once = PTHREAD_ONCE_INIT;

static void apply_readahead(void)
{
	if (O.readahead <= 0)
		return;
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[8192], dev[64] = "";
	while (f && fgets(line, sizeof(line), f)) {
		/* id parent major:minor root mountpoint ... (spaces escaped as \040) */
		char d[64], mp[4096];
		if (sscanf(line, "%*s %*s %63s %*s %4095s", d, mp) == 2 && !strcmp(mp, mnt_path))
			snprintf(dev, sizeof(dev), "%s", d);
	}
	if (f)
		fclose(f);
	if (!dev[0]) {
		log_warn("cannot find '%s' in /proc/self/mountinfo; read-ahead left at the kernel's default", mnt_path);
		return;
	}
	char p[128], v[32];
	snprintf(p, sizeof(p), "/sys/class/bdi/%s/read_ahead_kb", dev);
	int n = snprintf(v, sizeof(v), "%lld\n", (long long)(O.readahead / 1024));
	int fd = open(p, O_WRONLY | O_CLOEXEC), rc = 0;
	if (fd < 0 || write(fd, v, (size_t)n) != n)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc)
		log_warn("cannot set read-ahead in '%s': %s; reads stay at 128 KiB requests", p, strerror(-rc));
	else
		log_debug("read-ahead of '%s' (bdi %s) set to %lld KiB", mnt_path, dev, (long long)(O.readahead / 1024));
}

static inline void after_init(void)
{
	pthread_once(&readahead_once, apply_readahead);
}

/* ---- namespace ---- */

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	after_init();
	struct sfs_name_req q = { .parent = parent };
	struct sfs_attr_rep r;
	if (strlen(name) > SFS_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	uint64_t gen = lease_gen();
	cred_of(req, &q.cred);
	/* The parent's attributes: for the caller's search permission (a local
	 * answer), and for how long the kernel may keep the name. */
	struct sfs_attr pa;
	bool pknown = dir_attr(parent, &pa);
	if (!pknown) {
		struct sfs_ino_req gq = { .cred = q.cred, .ino = parent };
		struct sfs_attr_rep gr;
		if (!sfs_rpc(MDS, SFS_CLTOMD_GETATTR, &gq, &gr) && S_ISDIR(gr.attr.mode)) {
			pa = gr.attr;
			pknown = true;
			dcache_put(&pa);
		}
	}
	double eto = child_entry_to(pknown ? &pa : NULL);
	bool local = pknown && local_may(&q.cred, &pa, 1);
	if (local && gen && lc_get_entry(parent, name, gen, &r.attr)) {
		reply_entry_to(req, &r.attr, eto);
		return;
	}
	if (local && dk_absent(parent, name)) {
		atomic_fetch_add(&st_lookup_local, 1);
		/* Known missing (see "names known to be absent"); the kernel caches nothing. */
		struct fuse_entry_param e = { .ino = 0, .entry_timeout = 0 };
		fuse_reply_entry(req, &e);
		return;
	}
	snprintf(q.name, sizeof(q.name), "%s", name);
	atomic_fetch_add(&st_lookup_mds, 1);
	uint64_t epoch = lc_epoch();
	int rc = sfs_rpc(MDS, SFS_CLTOMD_LOOKUP, &q, &r);
	if (rc == -ENOENT && entry_to > 0) {
		/* A negative entry, not cached by the kernel (entry_timeout 0). */
		struct fuse_entry_param e = { .ino = 0, .entry_timeout = 0 };
		fuse_reply_entry(req, &e);
		return;
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	lease_entry(gen, parent, name, &r.attr, r.lease, epoch);
	reply_entry_to(req, &r.attr, eto);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	after_init();
	struct sfs_ino_req q = { .ino = ino };
	struct sfs_attr_rep r;
	int64_t left = dcache_get(ino, &r.attr);
	if (left > 0) {
		struct stat st;
		to_stat(&r.attr, &st);
		fuse_reply_attr(req, &st, (double)left / 1000.0);
		return;
	}
	uint64_t gen = lease_gen();
	if (gen && lc_get_attr(ino, gen, &r.attr)) {
		reply_attr(req, &r.attr);
		return;
	}
	cred_of(req, &q.cred);
	uint64_t epoch = lc_epoch();
	int rc = sfs_rpc(MDS, SFS_CLTOMD_GETATTR, &q, &r);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	uint64_t dir;
	if (gen && r.lease && lease_gen() == gen && (dir = lc_lease_dir(r.lease, gen)))
		lc_put_attr(dir, &r.attr, r.lease, gen, epoch);
	dcache_put(&r.attr); /* directories: fresh from the MDS */
	reply_attr(req, &r.attr);
}

static int get_layout(struct sfs_cred *c, uint64_t ino, struct sfs_layout *l)
{
	struct sfs_ino_req q = { .cred = *c, .ino = ino };
	struct sfs_getlayout_rep *r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	int rc = sfs_rpc(MDS, SFS_CLTOMD_GETLAYOUT, &q, r);
	if (!rc)
		*l = r->layout;
	free(r);
	return rc;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	struct sfs_setattr_req q = { .ino = ino };
	struct sfs_attr_rep r;
	int rc = 0;
	attrs_drop(ino);
	cred_of(req, &q.cred);
	if (to_set & FUSE_SET_ATTR_MODE) {
		q.valid |= SFS_SET_MODE;
		q.mode = attr->st_mode;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		q.valid |= SFS_SET_UID;
		q.uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		q.valid |= SFS_SET_GID;
		q.gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_ATIME) {
		q.valid |= SFS_SET_ATIME;
		q.atime = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? SFS_TIME_NOW : ts_ns(&attr->st_atim);
	}
	if (to_set & FUSE_SET_ATTR_MTIME) {
		q.valid |= SFS_SET_MTIME;
		q.mtime = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? SFS_TIME_NOW : ts_ns(&attr->st_mtim);
	}
	struct node *n = fi ? fh_node(fi) : NULL;
	if (to_set & FUSE_SET_ATTR_SIZE) {
		/* Writes of ours still under way must not land after the cut. */
		pthread_mutex_lock(&nodes_lock);
		struct node *w = node_find_locked(ino);
		if (w)
			w->refs++;
		pthread_mutex_unlock(&nodes_lock);
		if (w) {
			wb_wait(w, false);
			node_put(w);
		}
		q.valid |= SFS_SET_SIZE;
		q.size = (uint64_t)attr->st_size;
		struct sfs_layout *l = malloc(sizeof(*l));
		if (!l) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		if (n) {
			pthread_mutex_lock(&n->lock);
			*l = n->layout;
			pthread_mutex_unlock(&n->lock);
		} else {
			rc = get_layout(&q.cred, ino, l);
		}
		/* Cut the objects first: a crash in between leaves the old size
		 * with zeros past the cut, never old data past a new size. */
		if (!rc && l->count)
			rc = sfs_fs_punch(FS, l, q.size);
		free(l);
		if (rc) {
			fuse_reply_err(req, -rc);
			return;
		}
	}
	rc = sfs_rpc(MDS, SFS_CLTOMD_SETATTR, &q, &r);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		pthread_mutex_lock(&nodes_lock);
		struct node *m = node_find_locked(ino);
		if (m) {
			pthread_mutex_lock(&m->lock);
			m->size = q.size;
			if (m->written_end > q.size)
				m->written_end = q.size;
			pthread_mutex_unlock(&m->lock);
		}
		pthread_mutex_unlock(&nodes_lock);
	}
	reply_attr(req, &r.attr);
}

/* open(O_CREAT) without O_EXCL of a name that exists after all (made by
 * another client since our lookup): open that file, as the kernel would
 * have had the lookup found it.  O_TRUNC cuts it, as an open would. */
static void open_existing(fuse_req_t req, fuse_ino_t parent, const char *name, struct fuse_file_info *fi)
{
	struct sfs_name_req lq = { .parent = parent };
	struct sfs_attr_rep lr;
	cred_of(req, &lq.cred);
	snprintf(lq.name, sizeof(lq.name), "%s", name);
	int rc = sfs_rpc(MDS, SFS_CLTOMD_LOOKUP, &lq, &lr);
	if (!rc && S_ISDIR(lr.attr.mode))
		rc = -EISDIR;
	else if (!rc && !S_ISREG(lr.attr.mode))
		rc = -EEXIST;
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	struct sfs_open_req q = { .cred = lq.cred, .ino = lr.attr.ino, .flags = (uint32_t)fi->flags };
	struct sfs_attr_layout_rep *r = malloc(sizeof(*r));
	if (!r) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if ((rc = sfs_rpc(MDS, SFS_CLTOMD_OPEN, &q, r))) {
		free(r);
		fuse_reply_err(req, -rc);
		return;
	}
	struct node *n = node_get(r->attr.ino, &r->attr, &r->layout);
	if (!n) {
		struct sfs_close_req cq = { .cred = lq.cred, .ino = r->attr.ino };
		sfs_rpc(MDS, SFS_CLTOMD_CLOSE, &cq, NULL);
		free(r);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if ((fi->flags & O_TRUNC) && r->attr.size > 0) {
		wb_wait(n, false);
		struct sfs_setattr_req sq = { .cred = lq.cred, .ino = r->attr.ino, .valid = SFS_SET_SIZE, .size = 0 };
		struct sfs_attr_rep sr;
		rc = r->layout.count ? sfs_fs_punch(FS, &r->layout, 0) : 0;
		if (!rc && !(rc = sfs_rpc(MDS, SFS_CLTOMD_SETATTR, &sq, &sr))) {
			r->attr = sr.attr;
			pthread_mutex_lock(&n->lock);
			n->size = 0;
			n->written_end = 0;
			pthread_mutex_unlock(&n->lock);
		}
		if (rc) {
			struct sfs_close_req cq = { .cred = lq.cred, .ino = r->attr.ino };
			sfs_rpc(MDS, SFS_CLTOMD_CLOSE, &cq, NULL);
			node_put(n);
			free(r);
			fuse_reply_err(req, -rc);
			return;
		}
	}
	struct fuse_entry_param e;
	memset(&e, 0, sizeof(e));
	merge_local(&r->attr);
	e.ino = r->attr.ino;
	e.generation = r->attr.gen;
	to_stat(&r->attr, &e.attr);
	e.attr_timeout = attr_to;
	e.entry_timeout = child_entry_to_of(parent);
	free(r);
	fi->fh = (uintptr_t)n;
	fi->direct_io = (fi->flags & O_DIRECT) ? 1 : 0;
	if (fuse_reply_create(req, &e, fi) == -ENOENT)
		node_put(n);
}

/* ---- asynchronous creates and removes ----
 *
 * Under a lease on the directory nobody else reads or changes its names, so
 * a create of a name known to be missing, and the remove of a name whose
 * file this mount knows, cannot fail for want of the name: sfs-mount
 * answers the kernel at once and sends the request behind the answer (in
 * order, on the MDS connection the lease was granted on), CephFS-style.  A
 * create takes its inode number from a range the MDS reserved for this
 * client (INORANGE) and its times from this clock; the file's layout comes
 * with the MDS's answer, and every use of the file's data waits for it.
 * Should the MDS refuse one after all (a full database, a permission the
 * kernel judged from stale attributes), the error is logged, the kernel is
 * made to forget the name, and every later use of the file fails with it.
 * At most ASYNC_MAX requests are in flight; more wait. */

#define ASYNC_MAX 256
#define INO_BATCH 1024

static pthread_mutex_t async_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t async_room = PTHREAD_COND_INITIALIZER;
static int async_inflight;
static uint64_t ino_next, ino_end;        /* our reserved inode numbers, under async_lock */
static uint64_t ino_gen;                  /* the MDS connection generation they were reserved on */
static atomic_uint_fast64_t st_async_create, st_async_remove, st_async_failed;
static atomic_uint_fast64_t st_nf_open, st_nf_flushed, st_nf_through;

struct aop {
	struct sfs_call call;
	union {
		struct sfs_create_req cq;
		struct sfs_name_req nq;
		struct sfs_close_req clq;
		struct sfs_open_req oq;
		struct sfs_setsize_req sq;
	};
	union {
		struct sfs_create_rep cr;
		struct sfs_attr_rep ar;
		struct sfs_attr_layout_rep olr;
	};
	uint64_t parent, ino, pseq, gen, epoch;
	char name[SFS_NAME_MAX + 1];
	struct node *told;      /* a release's CLOSE or SETSIZE telling this node's size: its reference */
};

static void async_slot_take(void)
{
	pthread_mutex_lock(&async_lock);
	while (async_inflight >= ASYNC_MAX)
		pthread_cond_wait(&async_room, &async_lock);
	async_inflight++;
	pthread_mutex_unlock(&async_lock);
}

static void async_slot_give(void)
{
	pthread_mutex_lock(&async_lock);
	async_inflight--;
	pthread_cond_signal(&async_room);
	pthread_mutex_unlock(&async_lock);
}

/* A reserved inode number, or 0 (then create synchronously).  One thread
 * at a time asks for a new range: the MDS keeps only a client's last few
 * ranges, and several asked for at once could push out the one in use. */
static bool ino_refilling;
static pthread_cond_t ino_refilled = PTHREAD_COND_INITIALIZER;

static uint64_t take_ino(uint64_t gen)
{
	pthread_mutex_lock(&async_lock);
	for (;;) {
		if (ino_gen != gen)
			ino_next = ino_end = 0; /* reserved by an MDS that may have restarted since: ask again */
		if (ino_next < ino_end) {
			uint64_t v = ino_next++;
			pthread_mutex_unlock(&async_lock);
			return v;
		}
		if (!ino_refilling)
			break;
		pthread_cond_wait(&ino_refilled, &async_lock);
	}
	ino_refilling = true;
	pthread_mutex_unlock(&async_lock);
	struct sfs_inorange_req q = { .count = INO_BATCH };
	struct sfs_inorange_rep r;
	bool ok = !sfs_rpc(sfs_fs_mds(FS), SFS_CLTOMD_INORANGE, &q, &r) && r.count;
	pthread_mutex_lock(&async_lock);
	uint64_t v = 0;
	if (ok) {
		v = r.start;
		ino_next = r.start + 1;
		ino_end = r.start + r.count;
		ino_gen = gen;
	}
	ino_refilling = false;
	pthread_cond_broadcast(&ino_refilled);
	pthread_mutex_unlock(&async_lock);
	return v;
}

/* The parent changed under us (a name added or removed): its cached
 * attributes get this mtime/ctime, as the MDS will give them. */
static void parent_touched(uint64_t parent, int64_t t)
{
	struct sfs_attr a;
	lc_drop_ino(parent);
	if (dcache_get(parent, &a) > 0) {
		a.mtime = a.ctime = t;
		dcache_put(&a);
	}
}

/* The count `dir` will have once our asynchronous addition of `name` is
 * applied (recorded as if answered), or 0 when dir's names are not known. */
static uint64_t dk_add_now(uint64_t dir, const char *name)
{
	pthread_mutex_lock(&dk_lock);
	struct dknow *d = dk_find(dir);
	uint64_t seq = d && d->gen == sfs_conn_generation(sfs_fs_mds(FS)) ? d->seq + 1 : 0;
	pthread_mutex_unlock(&dk_lock);
	if (seq)
		dk_added(dir, name, seq, util_mono_ms());
	return seq;
}

static void async_failed(struct aop *o, const char *what)
{
	atomic_fetch_add(&st_async_failed, 1);
	log_error("the MDS refused the %s of '%s' in directory %" PRIu64 " that this mount had already answered: %s",
		  what, o->name, o->parent, strerror(-o->call.rc));
	lc_drop_entry(o->parent, o->name);
	attrs_drop(o->parent);
	dk_drop(o->parent);
	inval_later(o->parent, o->name);
}

/* An asynchronous request about parent/name, sent behind its answer. */
static void aop_prepare(struct aop *o, uint16_t op, const void *req, void *rep, uint64_t parent, const char *name,
			uint64_t gen)
{
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->parent = parent;
	o->gen = gen;
	o->call.op = op;
	o->call.hdr_flags = SFS_FLAG_ASYNC;
	o->call.req = req;
	o->call.rep = rep;
}

/* From the receiver thread: must not block. */
static void create_done(struct sfs_call *call)
{
	struct aop *o = (struct aop *)call;
	/* The caches first: once the node is ready, a writer may change the
	 * size and drop them, and must not find the create's size 0 put back
	 * after that. */
	if (call->rc) {
		async_failed(o, "create");
	} else {
		if (o->pseq && o->cr.pseq != o->pseq)
			dk_drop(o->parent); /* not the count we foresaw: forget what we knew */
		dcache_put(&o->cr.pattr);
		lease_entry(o->gen, o->parent, o->name, &o->cr.attr, o->cr.lease, o->epoch);
	}
	pthread_mutex_lock(&nodes_lock);
	struct node *n = node_find_locked(o->ino);
	if (n) {
		pthread_mutex_lock(&n->lock);
		if (!call->rc)
			n->layout = o->cr.layout;
		else
			n->cerr = call->rc;
		n->pending = false;
		pthread_cond_broadcast(&n->idle);
		pthread_mutex_unlock(&n->lock);
	}
	pthread_mutex_unlock(&nodes_lock);
	free(o);
	async_slot_give();
}

static void remove_done(struct sfs_call *call)
{
	struct aop *o = (struct aop *)call;
	if (call->rc)
		async_failed(o, "remove");
	else
		dcache_put(&o->ar.attr);
	free(o);
	async_slot_give();
}

/* ---- opens the MDS is told of only when it matters ----
 *
 * The MDS counts open handles only so that a file removed while open lives
 * until its last close.  A file this mount made asynchronously is opened
 * without telling the MDS (no OPEN with the create, no CLOSE at the end:
 * one request per create instead of two); the MDS is told of such handles
 * (OPEN with SFS_OPEN_REOPEN, in order before what follows) before anything
 * could remove the file: before this mount removes, renames or links any
 * name, before it gives back a lease (another client is about to change
 * the directory), and after a reconnect. */

static atomic_int unreg_total;

static void open_done(struct sfs_call *call)
{
	struct aop *o = (struct aop *)call;
	if (call->rc)
		log_warn("telling the MDS of an open handle of inode %" PRIu64 " failed: %s", o->ino,
			 strerror(-call->rc));
	free(o);
	async_slot_give();
}

/* Send o's request about inode ino behind an answer already given (its
 * req and rep are o's own), done(o) when it is answered. */
static void aop_send(struct aop *o, uint64_t ino, uint16_t op, const void *req, void *rep,
		     void (*done)(struct sfs_call *))
{
	o->ino = ino;
	o->call.op = op;
	o->call.req = req;
	o->call.rep = rep;
	async_slot_take();
	sfs_call_detach(sfs_fs_mds(FS), &o->call, done);
}

static void send_open(uint64_t ino)
{
	struct aop *o = calloc(1, sizeof(*o));
	if (!o) {
		log_error("out of memory: the MDS is not told of an open handle of inode %" PRIu64, ino);
		return;
	}
	o->oq = (struct sfs_open_req){ .ino = ino, .flags = SFS_OPEN_REOPEN };
	aop_send(o, ino, SFS_CLTOMD_OPEN, &o->oq, &o->olr, open_done);
}

/* Up to NODES_TAKE nodes that pick (called under the node's lock; it may
 * mark the node) chooses, each with a reference to give back with
 * node_put; *more: there are others beyond them. */
#define NODES_TAKE 256
static int nodes_take(bool (*pick)(struct node *), struct node **v, bool *more)
{
	int nv = 0;
	*more = false;
	pthread_mutex_lock(&nodes_lock);
	for (int b = 0; b < NODE_BUCKETS && !*more; b++)
		for (struct node *p = nodes[b]; p && !*more; p = p->next) {
			pthread_mutex_lock(&p->lock);
			if (nv == NODES_TAKE) {
				*more = pick(p);
			} else if (pick(p)) {
				p->refs++;
				v[nv++] = p;
			}
			pthread_mutex_unlock(&p->lock);
		}
	pthread_mutex_unlock(&nodes_lock);
	return nv;
}

static bool has_unreg(struct node *p)
{
	return p->unreg > 0;
}

static void register_opens(void)
{
	if (atomic_load(&unreg_total) == 0)
		return;
	struct node *v[NODES_TAKE];
	bool more;
	int nv = nodes_take(has_unreg, v, &more);
	for (int i = 0; i < nv; i++) {
		struct node *n = v[i];
		pthread_mutex_lock(&n->lock);
		while (n->registering)
			pthread_cond_wait(&n->idle, &n->lock);
		int cnt = n->unreg;
		n->unreg = 0;
		n->registering = cnt > 0;
		pthread_mutex_unlock(&n->lock);
		atomic_fetch_sub(&unreg_total, cnt);
		for (int k = 0; k < cnt; k++)
			send_open(n->ino);
		pthread_mutex_lock(&n->lock);
		n->registering = false;
		pthread_cond_broadcast(&n->idle);
		pthread_mutex_unlock(&n->lock);
		node_put(n);
	}
	if (atomic_load(&unreg_total) > 0)
		register_opens(); /* more than NODES_TAKE of them */
}

/* ---- closes the kernel does not tell us of ----
 * A file made by an asynchronous create and opened write-only is answered
 * with FOPEN_NOFLUSH: its close(2) sends no FLUSH, one FUSE round trip less
 * for every file made.  A write-only descriptor can neither read nor map the
 * file, so every byte written through it has reached us (as write requests)
 * by the time it is closed; what FLUSH would do next, wait for the
 * write-behind and tell the MDS the size, is done when it matters to anybody
 * else, which is only after one of these:
 *   - the MDS recalls the lease on the directory (another client is about to
 *     look at the directory, or at the file: until then, the file cannot be
 *     reached by anybody but us);
 *   - this mount renames or links the file (a name outside the lease);
 *   - the MDS connection was remade (leases are gone with it).
 * Then nf_revoke_flush does it for every such node, before the lease is
 * given back.  A handle still open at that point loses the shortcut: its
 * node's writes from then on go through at once (no write-behind; the size
 * is told with each), so that its close still leaves nothing to do.  The
 * kernel's RELEASE of the handle comes after the close returned and does
 * what it does for every handle (waits, tells the size).  What is given up:
 * a failed write-behind of such a file is reported by the next write or
 * fsync, not by close (and logged).  Mount option async=false turns it off
 * with the asynchronous creates. */
static atomic_int nf_total; /* nodes with nf_open > 0 */
static int push_size_as(const struct sfs_cred *cred, struct node *n, bool sync);
static int push_size(fuse_req_t req, struct node *n, bool sync);

/* Under n->lock: one of its FOPEN_NOFLUSH handles is gone. */
static void nf_handle_gone_locked(struct node *n)
{
	if (--n->nf_open == 0) {
		n->nf_through = false;
		atomic_fetch_sub(&nf_total, 1);
	}
}

/* For nodes_take: a node with FOPEN_NOFLUSH handles goes through now. */
static bool nf_take(struct node *p)
{
	if (p->nf_open == 0 || p->nf_through)
		return false;
	p->nf_through = true;
	return true;
}

static void nf_revoke_flush(void)
{
	if (atomic_load(&nf_total) == 0)
		return;
	struct node *v[NODES_TAKE];
	bool more;
	int nv = nodes_take(nf_take, v, &more);
	/* A write that looked before its node went through has queued its
	 * data and noted its size by now (it holds lease_send_lock). */
	pthread_rwlock_wrlock(&lease_send_lock);
	pthread_rwlock_unlock(&lease_send_lock);
	for (int i = 0; i < nv; i++) {
		struct node *n = v[i];
		pthread_mutex_lock(&n->lock);
		wb_wait_locked(n, false); /* an error stays for the next write or fsync */
		struct sfs_cred cred = n->nf_cred;
		pthread_mutex_unlock(&n->lock);
		int rc = push_size_as(&cred, n, false);
		if (rc)
			log_warn("telling the MDS the size of inode %" PRIu64 " failed: %s", n->ino, strerror(-rc));
		atomic_fetch_add(&st_nf_flushed, 1);
		node_put(n);
	}
	if (more)
		nf_revoke_flush();
}

/* The MDS has answered a size we told it.  An answer of its to a request
 * sent before (a LOOKUP or GETATTR of another thread) may have put the old
 * size in the lease cache meanwhile: dropping the inode now makes the lease
 * cache refuse every answer to a request sent before this point. */
static void size_told(struct node *n)
{
	lc_drop_ino(n->ino);
	pthread_mutex_lock(&n->lock);
	n->telling--;
	pthread_mutex_unlock(&n->lock);
	node_put(n);
}

static void close_done(struct sfs_call *call)
{
	struct aop *o = (struct aop *)call;
	if (call->rc)
		log_warn("closing inode %" PRIu64 " on the MDS failed: %s", o->ino, strerror(-call->rc));
	if (o->told)
		size_told(o->told);
	free(o);
	async_slot_give();
}

/* Create parent/name now and tell the MDS behind the answer, if the lease
 * allows; false: do it synchronously. */
static bool create_async(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			 struct fuse_file_info *fi, const struct sfs_cred *cred)
{
	uint64_t gen = lease_gen();
	struct sfs_attr pa;
	if (!O.async_ops || !gen || !fi || ((mode & S_IFMT) && !S_ISREG(mode)))
		return false;
	if (!lc_lease_held(parent, gen) || !dk_absent(parent, name)) {
		log_debug("create of '%s' in %" PRIu64 " synchronous: %s", name, (uint64_t)parent,
			  lc_lease_held(parent, gen) ? "not known to be missing" : "no lease");
		return false;
	}
	if (!dir_attr(parent, &pa) || !local_may(cred, &pa, 3)) {
		log_debug("create of '%s' in %" PRIu64 " synchronous: the directory's attributes are not known, or forbid it",
			  name, (uint64_t)parent);
		return false; /* the MDS decides (and the new file's group may depend on the parent's) */
	}
	uint64_t ino = take_ino(gen);
	if (!ino) {
		log_debug("create of '%s' synchronous: no inode numbers reserved", name);
		return false;
	}
	struct aop *o = calloc(1, sizeof(*o));
	if (!o)
		return false;
	async_slot_take();
	int64_t t = now_ns();
	struct sfs_attr a = { .ino = ino, .mode = S_IFREG | (mode & 07777), .nlink = 1, .uid = cred->uid,
			      .gid = (pa.mode & S_ISGID) ? pa.gid : cred->gid, .atime = t, .mtime = t, .ctime = t,
			      .gen = 1 };
	struct sfs_layout none = { 0 };
	struct node *n = node_get(ino, &a, &none);
	if (!n) {
		free(o);
		async_slot_give();
		return false;
	}
	pthread_mutex_lock(&n->lock);
	n->pending = true;
	n->unreg++; /* the MDS is told of this open only if it matters (register_opens) */
	pthread_mutex_unlock(&n->lock);
	atomic_fetch_add(&unreg_total, 1);
	o->cq = (struct sfs_create_req){ .cred = *cred, .parent = parent, .mode = mode, .sreq = { 0, 0, -1 },
					 .flags = (fi->flags & O_EXCL) ? SFS_CREATE_EXCL : 0,
					 .ino = ino, .time = t };
	snprintf(o->cq.name, sizeof(o->cq.name), "%s", name);
	o->ino = ino;
	aop_prepare(o, SFS_CLTOMD_CREATE, &o->cq, &o->cr, parent, name, gen);
	pthread_rwlock_rdlock(&lease_send_lock);
	uint64_t lease = lc_lease_held(parent, gen);
	if (!lease) {
		/* Recalled since we looked: undo, and go the slow way. */
		pthread_rwlock_unlock(&lease_send_lock);
		pthread_mutex_lock(&n->lock);
		n->pending = false;
		n->unreg--;
		pthread_mutex_unlock(&n->lock);
		atomic_fetch_sub(&unreg_total, 1);
		node_put(n);
		free(o);
		async_slot_give();
		return false;
	}
	o->pseq = dk_add_now(parent, name);
	o->epoch = lc_epoch();
	lc_put_entry(parent, name, &a, lease, gen, o->epoch);
	parent_touched(parent, t);
	atomic_fetch_add(&st_async_create, 1);
	sfs_call_detach(sfs_fs_mds(FS), &o->call, create_done);
	pthread_rwlock_unlock(&lease_send_lock);

	struct fuse_entry_param e;
	memset(&e, 0, sizeof(e));
	e.ino = ino;
	e.generation = 1;
	to_stat(&a, &e.attr);
	e.attr_timeout = attr_to;
	e.entry_timeout = child_entry_to(&pa);
	fi->fh = (uintptr_t)n;
	fi->direct_io = data_direct_io(fi->flags);
	bool nf = (fi->flags & O_ACCMODE) == O_WRONLY;
	if (nf) {
		/* See nf_revoke_flush. */
		pthread_mutex_lock(&n->lock);
		n->nf_cred = *cred;
		if (n->nf_open++ == 0)
			atomic_fetch_add(&nf_total, 1);
		pthread_mutex_unlock(&n->lock);
		fi->noflush = 1;
		fi->fh |= FH_NOFLUSH;
		atomic_fetch_add(&st_nf_open, 1);
	}
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		/* The caller was interrupted: no release will come. */
		if (nf) {
			pthread_mutex_lock(&n->lock);
			nf_handle_gone_locked(n);
			pthread_mutex_unlock(&n->lock);
		}
		node_put(n);
	}
	return true;
}

/* Remove parent/name (not a directory) now and tell the MDS behind the
 * answer, if the lease allows; false: do it synchronously. */
static bool unlink_async(fuse_req_t req, fuse_ino_t parent, const char *name, const struct sfs_cred *cred)
{
	uint64_t gen = lease_gen();
	struct sfs_attr a;
	if (!O.async_ops || !gen)
		return false;
	struct sfs_attr pa;
	if (!lc_get_entry(parent, name, gen, &a) || S_ISDIR(a.mode) || !dir_attr(parent, &pa) ||
	    !local_may(cred, &pa, 3))
		return false;
	/* The sticky bit: only the owner of the file or of the directory. */
	if ((pa.mode & S_ISVTX) && !(cred->uid == 0 && root_is_root()) && cred->uid != pa.uid && cred->uid != a.uid)
		return false;
	struct aop *o = calloc(1, sizeof(*o));
	if (!o)
		return false;
	register_opens();
	async_slot_take();
	o->nq.cred = *cred;
	o->nq.parent = parent;
	snprintf(o->nq.name, sizeof(o->nq.name), "%s", name);
	aop_prepare(o, SFS_CLTOMD_UNLINK, &o->nq, &o->ar, parent, name, gen);
	pthread_rwlock_rdlock(&lease_send_lock);
	if (!lc_lease_held(parent, gen) || !lc_get_entry(parent, name, gen, &a)) {
		pthread_rwlock_unlock(&lease_send_lock);
		free(o);
		async_slot_give();
		return false;
	}
	lc_drop_entry(parent, name);
	dk_removed(parent, name);
	parent_touched(parent, now_ns());
	atomic_fetch_add(&st_async_remove, 1);
	sfs_call_detach(sfs_fs_mds(FS), &o->call, remove_done);
	pthread_rwlock_unlock(&lease_send_lock);
	fuse_reply_err(req, 0);
	return true;
}

static void do_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev,
		      struct fuse_file_info *fi)
{
	struct sfs_create_req q = { .parent = parent, .mode = mode, .rdev = (uint32_t)rdev, .sreq = { 0, 0, -1 } };
	struct sfs_create_rep *r = malloc(sizeof(*r));
	if (!r) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (strlen(name) > SFS_NAME_MAX) {
		free(r);
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	cred_of(req, &q.cred);
	if (create_async(req, parent, name, mode, fi, &q.cred)) {
		free(r);
		return;
	}
	snprintf(q.name, sizeof(q.name), "%s", name);
	if (fi) {
		q.flags = SFS_CREATE_OPEN | ((fi->flags & O_EXCL) ? SFS_CREATE_EXCL : 0);
	}
	attrs_drop(parent);
	int64_t sent = util_mono_ms();
	uint64_t gen = lease_gen();
	uint64_t epoch = lc_epoch();
	int rc = sfs_rpc(MDS, SFS_CLTOMD_CREATE, &q, r);
	if (rc == -EEXIST) {
		dk_drop(parent);
		if (fi && !(fi->flags & O_EXCL)) {
			/* Made meanwhile by another client: open(O_CREAT) opens it. */
			atomic_fetch_add(&st_create_found, 1);
			free(r);
			open_existing(req, parent, name, fi);
			return;
		}
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		free(r);
		return;
	}
	dcache_put(&r->pattr);
	dk_added(parent, name, r->pseq, sent);
	lease_entry(gen, parent, name, &r->attr, r->lease, epoch);
	if (!fi) {
		reply_entry_to(req, &r->attr, child_entry_to(&r->pattr));
		free(r);
		return;
	}
	struct node *n = node_get(r->attr.ino, &r->attr, &r->layout);
	if (!n) {
		free(r);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	struct fuse_entry_param e;
	memset(&e, 0, sizeof(e));
	e.ino = r->attr.ino;
	e.generation = r->attr.gen;
	to_stat(&r->attr, &e.attr);
	e.attr_timeout = attr_to;
	e.entry_timeout = child_entry_to(&r->pattr);
	fi->fh = (uintptr_t)n;
	fi->direct_io = data_direct_io(fi->flags);
	if (fuse_reply_create(req, &e, fi) == -ENOENT)
		node_put(n); /* the caller was interrupted: no release will come */
	free(r);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
	do_create(req, parent, name, mode, 0, fi);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	do_create(req, parent, name, mode, rdev, NULL);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct sfs_mkdir_req q = { .parent = parent, .mode = mode };
	struct sfs_entry_rep r;
	if (strlen(name) > SFS_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	cred_of(req, &q.cred);
	snprintf(q.name, sizeof(q.name), "%s", name);
	attrs_drop(parent);
	int64_t sent = util_mono_ms();
	int rc = sfs_rpc(MDS, SFS_CLTOMD_MKDIR, &q, &r);
	if (rc) {
		if (rc == -EEXIST)
			dk_drop(parent);
		fuse_reply_err(req, -rc);
		return;
	}
	dcache_put(&r.pattr);
	dk_added(parent, name, r.pseq, sent);
	dk_start(r.attr.ino, r.seq, sent);
	reply_entry_to(req, &r.attr, child_entry_to(&r.pattr));
}

static void do_remove(fuse_req_t req, fuse_ino_t parent, const char *name, uint16_t op)
{
	struct sfs_name_req q = { .parent = parent };
	if (strlen(name) > SFS_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	cred_of(req, &q.cred);
	if (op == SFS_CLTOMD_UNLINK && unlink_async(req, parent, name, &q.cred))
		return;
	register_opens();
	snprintf(q.name, sizeof(q.name), "%s", name);
	struct sfs_attr_rep r;
	attrs_drop(parent);
	lc_drop_entry(parent, name); /* and the attributes of what it names */
	if (op == SFS_CLTOMD_RMDIR)
		dcache_clear(); /* the removed directory's own entry, whose ino we do not know here */
	int rc = sfs_rpc(MDS, op, &q, &r);
	if (!rc) {
		dcache_put(&r.attr); /* the parent, after the removal */
		dk_removed(parent, name);
	}
	fuse_reply_err(req, -rc);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	do_remove(req, parent, name, SFS_CLTOMD_UNLINK);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	do_remove(req, parent, name, SFS_CLTOMD_RMDIR);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct sfs_rename_req q = { .parent = parent, .newparent = newparent };
	if (strlen(name) > SFS_NAME_MAX || strlen(newname) > SFS_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	cred_of(req, &q.cred);
	snprintf(q.name, sizeof(q.name), "%s", name);
	snprintf(q.newname, sizeof(q.newname), "%s", newname);
	q.flags = ((flags & RENAME_NOREPLACE) ? SFS_RENAME_NOREPLACE : 0) |
		  ((flags & RENAME_EXCHANGE) ? SFS_RENAME_EXCHANGE : 0);
	register_opens(); /* a rename over a file removes it */
	nf_revoke_flush(); /* the file may get a name outside our lease */
	attrs_drop(parent);
	attrs_drop(newparent);
	lc_drop_entry(parent, name);
	lc_drop_entry(newparent, newname);
	/* A rename adds a name to newparent (and, exchanging, to parent) at a
	 * count we are not told: forget both. */
	dk_drop(parent);
	dk_drop(newparent);
	int rc = sfs_rpc(MDS, SFS_CLTOMD_RENAME, &q, NULL);
	dk_drop(parent);
	dk_drop(newparent);
	fuse_reply_err(req, -rc);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct sfs_link_req q = { .ino = ino, .newparent = newparent };
	struct sfs_entry_rep r;
	if (strlen(newname) > SFS_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	cred_of(req, &q.cred);
	snprintf(q.newname, sizeof(q.newname), "%s", newname);
	attrs_drop(newparent);
	lc_drop_ino(ino);
	register_opens(); /* a name elsewhere: removable without our lease */
	nf_revoke_flush(); /* and reachable without it */
	int64_t sent = util_mono_ms();
	int rc = sfs_rpc(MDS, SFS_CLTOMD_LINK, &q, &r);
	if (rc) {
		if (rc == -EEXIST)
			dk_drop(newparent);
		fuse_reply_err(req, -rc);
		return;
	}
	dcache_put(&r.pattr);
	dk_added(newparent, newname, r.pseq, sent);
	reply_entry_to(req, &r.attr, child_entry_to(&r.pattr));
}

static void op_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
	struct sfs_symlink_req *q = calloc(1, sizeof(*q));
	struct sfs_entry_rep r;
	if (!q) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (strlen(name) > SFS_NAME_MAX || strlen(target) > SFS_PATH_MAX) {
		free(q);
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	q->parent = parent;
	cred_of(req, &q->cred);
	snprintf(q->name, sizeof(q->name), "%s", name);
	snprintf(q->target, sizeof(q->target), "%s", target);
	attrs_drop(parent);
	int64_t sent = util_mono_ms();
	int rc = sfs_rpc(MDS, SFS_CLTOMD_SYMLINK, q, &r);
	free(q);
	if (rc) {
		if (rc == -EEXIST)
			dk_drop(parent);
		fuse_reply_err(req, -rc);
		return;
	}
	dcache_put(&r.pattr);
	dk_added(parent, name, r.pseq, sent);
	reply_entry_to(req, &r.attr, child_entry_to(&r.pattr));
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct sfs_ino_req q = { .ino = ino };
	struct sfs_readlink_rep *r = malloc(sizeof(*r));
	if (!r) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	cred_of(req, &q.cred);
	int rc = sfs_rpc(MDS, SFS_CLTOMD_READLINK, &q, r);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_readlink(req, r->target);
	free(r);
}

/* access(2) and chdir: the kernel asks us (no default_permissions). */
static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct sfs_cred c;
	struct sfs_attr a;
	cred_of(req, &c);
	uint64_t gen = lease_gen();
	if (dcache_get(ino, &a) <= 0 && !(gen && lc_get_attr(ino, gen, &a))) {
		struct sfs_ino_req q = { .cred = c, .ino = ino };
		struct sfs_attr_rep r;
		int rc = sfs_rpc(MDS, SFS_CLTOMD_GETATTR, &q, &r);
		if (rc) {
			fuse_reply_err(req, -rc);
			return;
		}
		a = r.attr;
	}
	unsigned m = ((mask & R_OK) ? 4 : 0) | ((mask & W_OK) ? 2 : 0) | ((mask & X_OK) ? 1 : 0);
	if (c.uid == 0 && !root_is_root()) {
		/* A squashed root is nobody in particular: the bits for others. */
		c.uid = c.gid = UINT32_MAX - 1;
		c.ngroups = 0;
	}
	fuse_reply_err(req, !m || local_may(&c, &a, m) ? 0 : EACCES);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct sfs_cred_req q;
	struct sfs_statfs_rep r;
	cred_of(req, &q.cred);
	int rc = sfs_rpc(MDS, SFS_CLTOMD_STATFS, &q, &r);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	struct statvfs sv;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = r.bsize;
	sv.f_frsize = r.bsize;
	sv.f_blocks = r.blocks;
	sv.f_bfree = r.bfree;
	sv.f_bavail = r.bavail;
	sv.f_files = r.files;
	sv.f_ffree = r.ffree;
	sv.f_favail = r.ffree;
	sv.f_namemax = SFS_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

/* ---- files ---- */

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	after_init();
	struct sfs_open_req q = { .ino = ino, .flags = (uint32_t)fi->flags };
	struct sfs_attr_layout_rep *r = malloc(sizeof(*r));
	if (!r) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	cred_of(req, &q.cred);
	int rc = sfs_rpc(MDS, SFS_CLTOMD_OPEN, &q, r);
	if (rc) {
		free(r);
		fuse_reply_err(req, -rc);
		return;
	}
	struct node *n = node_get(ino, &r->attr, &r->layout);
	free(r);
	if (!n) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)n;
	fi->keep_cache = 0; /* close-to-open: pages cached before this open may be stale */
	/* A read-only descriptor has nothing to flush at close: no FLUSH
	 * round trip (the writes of other descriptors are theirs to flush). */
	fi->noflush = (fi->flags & O_ACCMODE) == O_RDONLY;
	fi->direct_io = data_direct_io(fi->flags);
	/* Close-to-open with cached attributes: the size another node wrote
	 * and closed must be seen by this open, so drop what the kernel caches
	 * (attributes only; the pages go with keep_cache = 0). */
	if (attr_to > 0)
		fuse_lowlevel_notify_inval_inode(SE, ino, -1, 0);
	if (fuse_reply_open(req, fi) == -ENOENT)
		node_put(n);
}

/* Whether an open with these flags bypasses the kernel's page cache.  A
 * write-only descriptor can neither read nor be mapped, so the pages a
 * buffered write fills for it (FUSE without writeback cache writes through)
 * only cost the writer a copy and page-cache churn; with direct I/O the
 * kernel hands its pages to us as they are. */
static bool data_direct_io(int flags)
{
	return (flags & O_DIRECT) || (O.direct_write && (flags & O_ACCMODE) == O_WRONLY);
}

/* ---- data buffers ----
 * Reads and write-behind each need a buffer of up to 1 MiB per request.  A
 * fresh one from the kernel costs a page fault and the zeroing of every
 * page, and giving it back an unmap: together more CPU than the copies of
 * the data themselves.  Buffers are kept for reuse instead, at most
 * POOL_MAX of them (what is in flight at once is bounded anyway: the
 * write-behind bytes and the FUSE requests being served), and all given
 * back to the kernel once none was taken for POOL_IDLE_MS, so an idle
 * mount holds no data memory. */
/* A whole FUSE request fits one: the request loop receives into them. */
#define POOL_BUF     ((size_t)SFS_MAX_IO + 4096)
#define POOL_MAX     48
#define POOL_IDLE_MS 2000

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static void *pool_free[POOL_MAX];
static int pool_nfree;
static int64_t pool_last_use;

/* A buffer of at least `size` bytes, or NULL.  Give it back with buf_put. */
static void *buf_get(size_t size)
{
	if (size > POOL_BUF)
		return malloc(size);
	void *p = NULL;
	pthread_mutex_lock(&pool_lock);
	if (pool_nfree)
		p = pool_free[--pool_nfree];
	pool_last_use = util_mono_ms();
	pthread_mutex_unlock(&pool_lock);
	if (!p) {
		p = mmap(NULL, POOL_BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			p = NULL;
	}
	return p;
}

/* Give back a buffer of buf_get(size); NULL is ignored. */
static void buf_put(void *p, size_t size)
{
	if (!p)
		return;
	if (size > POOL_BUF) {
		free(p);
		return;
	}
	pthread_mutex_lock(&pool_lock);
	if (pool_nfree < POOL_MAX) {
		pool_free[pool_nfree++] = p;
		p = NULL;
	}
	pthread_mutex_unlock(&pool_lock);
	if (p)
		munmap(p, POOL_BUF);
}

/* Give a pool buffer (size <= POOL_BUF) back to the kernel, never to be
 * reused by us. */
static void buf_drop(void *p)
{
	if (p)
		munmap(p, POOL_BUF);
}

/* Unmap the kept buffers if none was taken for a while. */
static void pool_trim(void)
{
	void *v[POOL_MAX];
	int n = 0;
	pthread_mutex_lock(&pool_lock);
	if (pool_nfree && util_mono_ms() - pool_last_use > POOL_IDLE_MS) {
		n = pool_nfree;
		memcpy(v, pool_free, sizeof(v[0]) * (size_t)n);
		pool_nfree = 0;
	}
	pthread_mutex_unlock(&pool_lock);
	for (int i = 0; i < n; i++)
		munmap(v[i], POOL_BUF);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct node *n = fh_node(fi);
	pthread_mutex_lock(&n->lock);
	wb_wait_locked(n, false); /* read what this node wrote */
	uint64_t known = n->size;
	struct sfs_layout *l = malloc(sizeof(*l));
	if (l)
		*l = n->layout;
	pthread_mutex_unlock(&n->lock);
	if (!l) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if ((uint64_t)off + size > known) {
		/* Another client may have made the file longer since we opened it. */
		struct sfs_ino_req q = { .ino = ino };
		struct sfs_attr_rep r;
		cred_of(req, &q.cred);
		if (sfs_rpc(MDS, SFS_CLTOMD_GETATTR, &q, &r) == 0) {
			merge_local(&r.attr);
			known = r.attr.size;
		}
	}
	if ((uint64_t)off >= known) {
		free(l);
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if ((uint64_t)off + size > known)
		size = (size_t)(known - (uint64_t)off);
	char *buf = buf_get(size ? size : 1);
	int rc = buf ? sfs_fs_read(FS, l, buf, size, (uint64_t)off) : -ENOMEM;
	free(l);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, buf, size);
	buf_put(buf, size ? size : 1);
}

/* ---- the request loop ----
 * Our own loop over libfuse's fuse_session_receive_buf/process_buf, with a
 * fixed set of O.threads workers, each receiving into a pool buffer.  What
 * it adds to libfuse's: a write queued for write-behind keeps the buffer
 * its request arrived in (loop_take), and the worker takes another one,
 * instead of the data being copied once more. */
static __thread struct fuse_buf *loop_fbuf;   /* what this worker is serving */
static pthread_mutex_t loop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t loop_cond = PTHREAD_COND_INITIALIZER;
static int loop_ended;   /* workers that left their loop */
static int loop_error;   /* a receive error that ended a worker, or 0 */

/* If buf (size bytes) lies in the request buffer this worker is serving,
 * take that buffer over and return it (from buf_get(POOL_BUF)); the worker
 * receives its next request elsewhere.  NULL otherwise. */
static char *loop_take(const char *buf, size_t size)
{
	struct fuse_buf *fb = loop_fbuf;
	if (!fb || !fb->mem || (fb->flags & FUSE_BUF_IS_FD))
		return NULL;
	char *base = fb->mem;
	if (buf < base || buf + size > base + POOL_BUF)
		return NULL;
	fb->mem = NULL;
	return base;
}

static void *loop_main(void *arg)
{
	struct fuse_session *se = arg;
	struct fuse_buf fbuf;
	int old;
	memset(&fbuf, 0, sizeof(fbuf));
	/* Cancelled (at exit) only while waiting for a request. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	while (!fuse_session_exited(se)) {
		if (!fbuf.mem && !(fbuf.mem = buf_get(POOL_BUF))) {
			struct timespec ts = { 0, 10 * 1000000 };
			nanosleep(&ts, NULL); /* out of memory: try again shortly */
			continue;
		}
		fbuf.flags = 0;
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
		int res = fuse_session_receive_buf(se, &fbuf);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
		if (res == -EINTR || res == -EAGAIN)
			continue;
		if (res <= 0) { /* 0: unmounted or told to exit */
			if (res < 0) {
				pthread_mutex_lock(&loop_lock);
				loop_error = res;
				pthread_mutex_unlock(&loop_lock);
			}
			break;
		}
		loop_fbuf = &fbuf;
		fuse_session_process_buf(se, &fbuf);
		loop_fbuf = NULL;
	}
	buf_put(fbuf.mem, POOL_BUF);
	pthread_mutex_lock(&loop_lock);
	loop_ended++;
	pthread_cond_signal(&loop_cond);
	pthread_mutex_unlock(&loop_lock);
	return NULL;
}

/* Serve requests with n workers until the session ends (unmount, or a
 * signal: libfuse's handlers mark the session exited).  0 or -errno. */
static int loop_run(struct fuse_session *se, int n)
{
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	int started = 0;
	if (!t)
		return -ENOMEM;
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[started], NULL, loop_main, se) == 0)
			started++;
	if (!started) {
		free(t);
		return -EAGAIN;
	}
	/* The signal may have woken another thread than a worker: look at
	 * the session's state now and then, not only when a worker ends. */
	pthread_mutex_lock(&loop_lock);
	while (!loop_ended && !fuse_session_exited(se)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&loop_cond, &loop_lock, &ts);
	}
	int rc = loop_error;
	pthread_mutex_unlock(&loop_lock);
	fuse_session_exit(se);
	for (int i = 0; i < started; i++)
		pthread_cancel(t[i]);
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
	return rc;
}

/* ---- write-behind ----
 * A write() is answered once its data is copied and queued; writer threads
 * send it to the OSSs (every stripe at once, as before), so one writer keeps
 * several OSSs busy.  The bytes under way are capped (write_behind), which
 * bounds memory and makes writers wait for the OSSs.  Flush, fsync, reads,
 * truncates and release of the file wait for its writes first (so close-to-
 * open, read-your-writes and fsync hold), and a failed write's error is
 * returned by the next write, flush or fsync of the file. */

struct wjob {
	struct node *n;
	struct sfs_layout layout;
	uint64_t off;
	size_t len;
	struct wjob *next;
	struct wjob *node_next; /* in n->wb_jobs */
	char *data;             /* the bytes, inside base */
	char *base;             /* from buf_get(POOL_BUF) */
};

#define WB_THREADS 32
static pthread_mutex_t wb_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wb_work = PTHREAD_COND_INITIALIZER, wb_room = PTHREAD_COND_INITIALIZER;
static struct wjob *wb_head, **wb_tail = &wb_head;
static int64_t wb_bytes;     /* queued or being sent */
static bool wb_stop;

static void *wb_main(void *arg)
{
	for (;;) {
		pthread_mutex_lock(&wb_lock);
		while (!wb_head && !wb_stop)
			pthread_cond_wait(&wb_work, &wb_lock);
		struct wjob *j = wb_head;
		if (!j) {
			pthread_mutex_unlock(&wb_lock);
			return NULL;
		}
		wb_head = j->next;
		if (!wb_head)
			wb_tail = &wb_head;
		pthread_mutex_unlock(&wb_lock);

		int rc = sfs_fs_write_pinned(FS, &j->layout, j->data, j->len, j->off);
		struct node *n = j->n;
		pthread_mutex_lock(&n->lock);
		if (rc && !n->werr) {
			n->werr = rc;
			log_warn("write-behind of %zu bytes at %" PRIu64 " of inode %" PRIu64 " failed: %s; "
				 "the next write, flush or fsync of the file returns it", j->len, j->off, n->ino, strerror(-rc));
		}
		for (struct wjob **pp = &n->wb_jobs; *pp; pp = &(*pp)->node_next)
			if (*pp == j) {
				*pp = j->node_next;
				break;
			}
		if (--n->inflight == 0)
			pthread_cond_broadcast(&n->idle);
		pthread_mutex_unlock(&n->lock);
		pthread_mutex_lock(&wb_lock);
		wb_bytes -= (int64_t)j->len;
		pthread_cond_broadcast(&wb_room);
		pthread_mutex_unlock(&wb_lock);
		if (rc)
			buf_drop(j->base); /* pinned: a frame still queued may read it */
		else
			buf_put(j->base, POOL_BUF);
		free(j);
	}
}

/* Wait until none of the node's writes is under way; returns (and clears,
 * with `take`) the first error one of them had.  Caller holds n->lock. */
static int wb_wait_locked(struct node *n, bool take)
{
	while (n->inflight || n->pending)
		pthread_cond_wait(&n->idle, &n->lock);
	int rc = n->werr ? n->werr : n->cerr;
	if (take)
		n->werr = 0;
	return rc;
}

static int wb_wait(struct node *n, bool take)
{
	pthread_mutex_lock(&n->lock);
	int rc = wb_wait_locked(n, take);
	pthread_mutex_unlock(&n->lock);
	return rc;
}

/* Queue a copy of the write; false if it must be written synchronously. */
static bool wb_queue(struct node *n, const struct sfs_layout *l, const char *buf, size_t size, uint64_t off)
{
	if ((int64_t)size > O.write_behind || size > POOL_BUF)
		return false;
	struct wjob *j = malloc(sizeof(*j));
	if (!j)
		return false;
	/* The request's own buffer if the loop lets us have it, else a copy. */
	j->base = loop_take(buf, size);
	if (j->base) {
		j->data = (char *)buf;
	} else if ((j->base = j->data = buf_get(POOL_BUF)) != NULL) {
		memcpy(j->data, buf, size);
	} else {
		free(j);
		return false;
	}
	j->n = n;
	j->layout = *l;
	j->off = off;
	j->len = size;
	j->next = NULL;
	/* Writers send in parallel, so two writes of the same bytes could
	 * reach the OSS in either order: a write that overlaps one still under
	 * way waits for the file's write-behind to drain first. */
	pthread_mutex_lock(&n->lock);
	for (struct wjob *o = n->wb_jobs; o; o = o->node_next)
		if (o->off < off + size && off < o->off + o->len) {
			while (n->inflight)
				pthread_cond_wait(&n->idle, &n->lock);
			break;
		}
	n->inflight++;
	j->node_next = n->wb_jobs;
	n->wb_jobs = j;
	pthread_mutex_unlock(&n->lock);
	pthread_mutex_lock(&wb_lock);
	while (wb_bytes + (int64_t)size > O.write_behind)
		pthread_cond_wait(&wb_room, &wb_lock);
	wb_bytes += (int64_t)size;
	*wb_tail = j;
	wb_tail = &j->next;
	pthread_cond_signal(&wb_work);
	pthread_mutex_unlock(&wb_lock);
	return true;
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct node *n = fh_node(fi);
	struct sfs_layout *l = malloc(sizeof(*l));
	if (!l) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* While files whose close we are not told of exist, a write holds
	 * lease_send_lock from looking at its node to noting its size, so
	 * that nf_revoke_flush finds it done or sees it go through. */
	bool held = atomic_load(&nf_total) > 0;
	if (held)
		pthread_rwlock_rdlock(&lease_send_lock);
	pthread_mutex_lock(&n->lock);
	while (n->pending)
		pthread_cond_wait(&n->idle, &n->lock);
	*l = n->layout;
	int werr = n->werr ? n->werr : n->cerr;
	bool through = n->nf_open > 0 && n->nf_through;
	if (through && !werr)
		werr = wb_wait_locked(n, true); /* what went behind lands before this */
	pthread_mutex_unlock(&n->lock);
	if (werr) {
		if (held)
			pthread_rwlock_unlock(&lease_send_lock);
		free(l);
		fuse_reply_err(req, -werr);
		return;
	}
	int rc = 0;
	bool behind = O.write_behind > 0 && !through && !(fi->flags & O_DIRECT) &&
		      !(fi->flags & (O_SYNC | O_DSYNC)) && wb_queue(n, l, buf, size, (uint64_t)off);
	if (!behind)
		rc = sfs_fs_write(FS, l, buf, size, (uint64_t)off, false);
	free(l);
	if (!rc) {
		uint64_t end = (uint64_t)off + size;
		pthread_mutex_lock(&n->lock);
		if (end > n->written_end)
			n->written_end = end;
		if (end > n->size)
			n->size = end;
		n->mtime = now_ns();
		n->dirty = true;
		pthread_mutex_unlock(&n->lock);
		if (through) {
			rc = push_size(req, n, false); /* its close will not tell us */
			atomic_fetch_add(&st_nf_through, 1);
		}
	}
	if (held)
		pthread_rwlock_unlock(&lease_send_lock);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	/* A direct write (O_DIRECT, or a write-only descriptor: data_direct_io)
	 * passes the kernel's page cache by: pages that other descriptors of
	 * this file cached here would go stale, so drop them; the next read
	 * comes to us (and waits for the write-behind). */
	if (fi->direct_io) {
		pthread_mutex_lock(&nodes_lock);
		bool shared = n->refs > 1;
		pthread_mutex_unlock(&nodes_lock);
		if (shared)
			fuse_lowlevel_notify_inval_inode(SE, ino, off, (off_t)size);
	}
	fuse_reply_write(req, size);
}

/* Tell the MDS how far we wrote.  With `sync` (fsync) the MDS answers only
 * once this and every earlier change is on its disk, so it is sent even
 * when there is no new size.  0 or -errno. */
static int push_size_as(const struct sfs_cred *cred, struct node *n, bool sync)
{
	pthread_mutex_lock(&n->lock);
	bool dirty = n->dirty;
	struct sfs_setsize_req q = { .ino = n->ino, .size = dirty ? n->written_end : 0, .mtime = dirty ? n->mtime : 0,
				     .flags = sync ? SFS_SETSIZE_SYNC : 0 };
	n->dirty = false;
	if (dirty)
		n->telling++;
	pthread_mutex_unlock(&n->lock);
	if (!dirty && !sync)
		return 0;
	struct sfs_attr_rep r;
	q.cred = *cred;
	lc_drop_ino(n->ino);
	int rc = sfs_rpc(MDS, SFS_CLTOMD_SETSIZE, &q, &r);
	if (dirty) {
		lc_drop_ino(n->ino); /* as in size_told */
		pthread_mutex_lock(&n->lock);
		n->telling--;
		if (rc)
			n->dirty = true;
		pthread_mutex_unlock(&n->lock);
	}
	return rc;
}

static int push_size(fuse_req_t req, struct node *n, bool sync)
{
	struct sfs_cred cred;
	cred_of(req, &cred);
	return push_size_as(&cred, n, sync);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = fh_node(fi);
	int werr = wb_wait(n, true);
	int rc = push_size(req, n, false);
	fuse_reply_err(req, werr ? -werr : -rc);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct node *n = fh_node(fi);
	struct sfs_layout *l = malloc(sizeof(*l));
	if (!l) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&n->lock);
	while (n->pending)
		pthread_cond_wait(&n->idle, &n->lock);
	*l = n->layout;
	pthread_mutex_unlock(&n->lock);
	/* Data first, then the size: the MDS commits durably before answering. */
	int rc = wb_wait(n, true);
	if (!rc)
		rc = sfs_fs_sync(FS, l);
	free(l);
	if (!rc)
		rc = push_size(req, n, true);
	fuse_reply_err(req, -rc);
}

/* fsync of a directory: its entries (and every other change answered so
 * far) durable on the MDS. */
static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct sfs_setsize_req q = { .ino = ino, .flags = SFS_SETSIZE_SYNC };
	struct sfs_attr_rep r;
	cred_of(req, &q.cred);
	fuse_reply_err(req, -sfs_rpc(MDS, SFS_CLTOMD_SETSIZE, &q, &r));
}

static void release_handle(fuse_req_t req, fuse_ino_t ino, struct node *n, bool noflush)
{
	pthread_mutex_lock(&n->lock);
	/* Writes under way use the node: they must end before the last put.
	 * An asynchronous create still unanswered does not (create_done finds
	 * the node by number, or finds none), so the release does not wait for
	 * the MDS's commit of it: that wait held a worker thread and cost a
	 * sleep and a wake-up per file created. */
	while (n->inflight)
		pthread_cond_wait(&n->idle, &n->lock);
	while (n->registering)
		pthread_cond_wait(&n->idle, &n->lock);
	struct sfs_close_req q = { .ino = ino, .size = n->written_end, .mtime = n->mtime, .has_size = n->dirty };
	bool unreg = n->unreg > 0;
	if (unreg)
		n->unreg--;
	if (noflush)
		nf_handle_gone_locked(n);
	n->dirty = false;
	/* Until the MDS has answered the size sent below, an answer of its
	 * that was sent before it may still come, with the old size: the node
	 * stays (this handle's reference goes with the request) and its
	 * written_end wins (merge_local). */
	if (q.has_size)
		n->telling++;
	pthread_mutex_unlock(&n->lock);
	cred_of(req, &q.cred);
	struct node *told = NULL;
	if (q.has_size) {
		lc_drop_ino(ino);
		told = n;
	} else {
		node_put(n);
	}
	if (unreg) {
		/* The MDS was never told of this open: no CLOSE, only the size
		 * if one is left to tell. */
		atomic_fetch_sub(&unreg_total, 1);
		if (told) {
			struct sfs_setsize_req sq = { .cred = q.cred, .ino = ino, .size = q.size, .mtime = q.mtime };
			struct aop *o = calloc(1, sizeof(*o));
			if (o) {
				o->sq = sq;
				o->told = told;
				aop_send(o, ino, SFS_CLTOMD_SETSIZE, &o->sq, &o->ar, close_done);
			} else {
				struct sfs_attr_rep ar;
				int rc = sfs_rpc(MDS, SFS_CLTOMD_SETSIZE, &sq, &ar);
				if (rc)
					log_warn("telling the MDS the size of inode %" PRIu64 " failed: %s", (uint64_t)ino, strerror(-rc));
				size_told(told);
			}
		}
		fuse_reply_err(req, 0);
		return;
	}
	/* Nobody waits for a release: the CLOSE goes behind the answer (in
	 * order with this mount's other requests on the connection). */
	struct aop *o = calloc(1, sizeof(*o));
	if (o) {
		o->clq = q;
		o->told = told;
		aop_send(o, ino, SFS_CLTOMD_CLOSE, &o->clq, NULL, close_done);
	} else {
		int rc = sfs_rpc(MDS, SFS_CLTOMD_CLOSE, &q, NULL);
		if (rc)
			log_warn("closing inode %" PRIu64 " on the MDS failed: %s", (uint64_t)ino, strerror(-rc));
		if (told)
			size_told(told);
	}
	fuse_reply_err(req, 0);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* A handle whose close we were not told of: the size it leaves is on
	 * its way before a lease is given back (see nf_revoke_flush). */
	bool noflush = (fi->fh & FH_NOFLUSH) != 0;
	if (noflush)
		pthread_rwlock_rdlock(&lease_send_lock);
	release_handle(req, ino, fh_node(fi), noflush);
	if (noflush)
		pthread_rwlock_unlock(&lease_send_lock);
}

/* ---- directories ---- */

struct dirh {
	pthread_mutex_t lock;
	uint8_t *bulk;
	size_t blen;
	uint32_t count;
	bool eof, plus;
	uint64_t from;      /* the cookie this batch was fetched after */
};

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* A listing may show names made elsewhere: let lookups see them too. */
	dk_drop(ino);
	struct dirh *d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_init(&d->lock, NULL);
	d->from = UINT64_MAX;
	fi->fh = (uintptr_t)d;
	fuse_reply_open(req, fi);
}

static int fetch(fuse_req_t req, fuse_ino_t ino, struct dirh *d, uint64_t cookie, bool plus)
{
	struct sfs_readdir_req q = { .ino = ino, .cookie = cookie, .maxbytes = 64 * 1024, .plus = plus };
	struct sfs_readdir_rep r;
	if (!d->bulk && !(d->bulk = malloc(64 * 1024)))
		return -ENOMEM;
	cred_of(req, &q.cred);
	struct sfs_call call = { .op = SFS_CLTOMD_READDIR, .req = &q, .rep = &r, .bulk_in = d->bulk, .bulk_in_cap = 64 * 1024 };
	d->from = UINT64_MAX;
	int rc = sfs_call_run(MDS, &call);
	if (rc)
		return rc;
	d->blen = call.bulk_in_len;
	d->count = r.count;
	d->eof = r.eof;
	d->plus = plus;
	d->from = cookie;
	return 0;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi, bool plus)
{
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
	char *out = malloc(size);
	struct sfs_dirent *e = malloc(sizeof(*e));
	size_t used = 0;
	int rc = 0;
	double rd_eto = plus ? child_entry_to_of(ino) : 0;
	if (!out || !e) {
		free(out);
		free(e);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&d->lock);
	uint64_t cookie = (uint64_t)off;
	for (;;) {
		/* Does the cached batch continue from `cookie`? */
		bool have = false;
		if (d->from != UINT64_MAX && d->plus == plus) {
			if (d->from == cookie) {
				have = true;
			} else {
				size_t pos = 0;
				for (uint32_t i = 0; i < d->count; i++) {
					if (sfs_dirent_decode(e, plus, d->bulk, d->blen, &pos))
						break;
					if (e->cookie == cookie) {
						have = true;
						break;
					}
				}
			}
		}
		if (!have && (rc = fetch(req, ino, d, cookie, plus)))
			break;
		size_t pos = 0;
		uint32_t i;
		bool full = false, any = false;
		for (i = 0; i < d->count; i++) {
			if (sfs_dirent_decode(e, plus, d->bulk, d->blen, &pos)) {
				rc = -EIO;
				break;
			}
			if (e->cookie <= cookie && cookie != 0)
				continue;
			size_t need;
			if (plus) {
				struct fuse_entry_param ep;
				memset(&ep, 0, sizeof(ep));
				bool dot = !strcmp(e->name, ".") || !strcmp(e->name, "..");
				to_stat(&e->attr, &ep.attr);
				ep.ino = dot ? 0 : e->ino;
				ep.attr.st_ino = e->ino;
				ep.generation = e->attr.gen;
				ep.attr_timeout = attr_to;
				ep.entry_timeout = dot ? 0 : rd_eto;
				need = fuse_add_direntry_plus(req, out + used, size - used, e->name, &ep, (off_t)e->cookie);
			} else {
				struct stat st = { .st_ino = e->ino, .st_mode = e->mode };
				need = fuse_add_direntry(req, out + used, size - used, e->name, &st, (off_t)e->cookie);
			}
			if (need > size - used) {
				full = true;
				break;
			}
			used += need;
			cookie = e->cookie;
			any = true;
		}
		if (rc || full || d->eof)
			break;
		if (!any && i == d->count && d->count == 0)
			break;
		/* Batch used up: fetch the next one after `cookie`. */
		if ((rc = fetch(req, ino, d, cookie, plus)))
			break;
	}
	pthread_mutex_unlock(&d->lock);
	if (rc && !used)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, out, used);
	free(out);
	free(e);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
	free(d->bulk);
	pthread_mutex_destroy(&d->lock);
	free(d);
	fuse_reply_err(req, 0);
}

/* ---- extended attributes, and the layout interface of `sfs` ---- */

#define XA_LAYOUT "user.sfs.layout"
#define XA_OSTS "user.sfs.osts"
#define XA_MDS "user.sfs.mds"
#define XA_STATS "user.sfs.stats"   /* this mount's counters, one "name value" a line */

static char mds_spec[512];

static void reply_xattr_text(fuse_req_t req, const char *text, size_t len, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, text, len);
}

static int layout_text(struct sfs_cred *c, uint64_t ino, char *out, size_t cap, size_t *len)
{
	struct sfs_ino_req q = { .cred = *c, .ino = ino };
	struct sfs_getlayout_rep *r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	int rc = sfs_rpc(MDS, SFS_CLTOMD_GETLAYOUT, &q, r);
	if (rc) {
		free(r);
		return rc;
	}
	int n;
	if (r->layout.count) {
		n = snprintf(out, cap, "stripe_count=%u stripe_size=%u gen=%" PRIu64 "\n", r->layout.count,
			     r->layout.stripe_size, r->layout.gen);
		for (uint32_t i = 0; i < r->layout.count && n > 0 && (size_t)n < cap; i++)
			n += snprintf(out + n, cap - (size_t)n, "%u %u %" PRIu64 "\n", i, r->layout.stripes[i].ost,
				      r->layout.stripes[i].objid);
	} else {
		n = snprintf(out, cap, "stripe_count=%d stripe_size=%u stripe_offset=%d\n", r->sreq.count,
			     r->sreq.size, r->sreq.start);
	}
	free(r);
	if (n < 0 || (size_t)n >= cap)
		return -ERANGE;
	*len = (size_t)n;
	return 0;
}

static int osts_text(char *out, size_t cap, size_t *len)
{
	struct sfs_ostinfo *v;
	uint32_t n;
	int rc = sfs_fs_ostlist(FS, &v, &n);
	if (rc)
		return rc;
	size_t pos = 0;
	for (uint32_t i = 0; i < n; i++) {
		int k = snprintf(out + pos, cap - pos, "%u %s %s:%u %" PRIu64 " %" PRIu64 " %s\n", v[i].ost, v[i].uuid,
				 v[i].addr, v[i].port, v[i].total, v[i].free,
				 v[i].up == 2 ? "inactive" : v[i].up ? "up" : "down");
		if (k < 0 || (size_t)k >= cap - pos) {
			free(v);
			return -ERANGE;
		}
		pos += (size_t)k;
	}
	free(v);
	*len = pos;
	return 0;
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct sfs_xattr_req q = { .ino = ino };
	cred_of(req, &q.cred);
	if (!strcmp(name, XA_LAYOUT) || !strcmp(name, XA_OSTS) || !strcmp(name, XA_MDS) || !strcmp(name, XA_STATS)) {
		char *text = malloc(64 * 1024);
		size_t len = 0;
		int rc;
		if (!text) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		if (!strcmp(name, XA_LAYOUT))
			rc = layout_text(&q.cred, ino, text, 64 * 1024, &len);
		else if (!strcmp(name, XA_OSTS))
			rc = osts_text(text, 64 * 1024, &len);
		else if (!strcmp(name, XA_STATS)) {
			uint64_t hits, recalls;
			lc_stats(&hits, &recalls);
			len = (size_t)snprintf(text, 64 * 1024, "lookups_to_mds %" PRIu64 "\nlookups_answered_missing_here %" PRIu64 "\n"
					       "creates_that_opened_an_existing_file %" PRIu64 "\n"
					       "answered_under_lease %" PRIu64 "\nleases_recalled %" PRIu64 "\n"
					       "async_creates %" PRIu64 "\nasync_removes %" PRIu64 "\nasync_refused %" PRIu64 "\n"
					       "noflush_opens %" PRIu64 "\nnoflush_flushed %" PRIu64 "\nnoflush_writes_through %" PRIu64 "\n",
					       atomic_load(&st_lookup_mds), atomic_load(&st_lookup_local), atomic_load(&st_create_found),
					       hits, recalls, atomic_load(&st_async_create), atomic_load(&st_async_remove),
					       atomic_load(&st_async_failed), atomic_load(&st_nf_open), atomic_load(&st_nf_flushed),
					       atomic_load(&st_nf_through));
			rc = 0;
		} else {
			len = (size_t)snprintf(text, 64 * 1024, "%s\n", mds_spec);
			rc = 0;
		}
		if (rc)
			fuse_reply_err(req, -rc);
		else
			reply_xattr_text(req, text, len, size);
		free(text);
		return;
	}
	if (strlen(name) > SFS_XATTR_NAME_MAX) {
		fuse_reply_err(req, ERANGE);
		return;
	}
	/* The MDS keeps only these namespaces and answers EOPNOTSUPP for the
	 * rest (system.posix_acl_*, which `ls -l` asks for every file): answer
	 * that here, without a round trip. */
	if (strncmp(name, "user.", 5) && strncmp(name, "trusted.", 8) && strncmp(name, "security.", 9)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	snprintf(q.name, sizeof(q.name), "%s", name);
	uint8_t *buf = malloc(SFS_XATTR_SIZE_MAX);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	struct sfs_call call = { .op = SFS_CLTOMD_GETXATTR, .req = &q, .bulk_in = buf, .bulk_in_cap = SFS_XATTR_SIZE_MAX };
	int rc = sfs_call_run(MDS, &call);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_xattr_text(req, (const char *)buf, call.bulk_in_len, size);
	free(buf);
}

/* "stripe_count=N stripe_size=S stripe_offset=I" (any subset) -> sreq */
static int parse_sreq(const char *v, size_t len, struct sfs_sreq *s)
{
	char text[256];
	if (len >= sizeof(text))
		return -EINVAL;
	memcpy(text, v, len);
	text[len] = 0;
	s->count = 0;
	s->size = 0;
	s->start = -1;
	char *save = NULL;
	for (char *t = strtok_r(text, " \n\t,", &save); t; t = strtok_r(NULL, " \n\t,", &save)) {
		char *eq = strchr(t, '=');
		int64_t n;
		if (!eq)
			return -EINVAL;
		*eq = 0;
		if (!strcmp(t, "stripe_size")) {
			if (cfg_parse_size(eq + 1, &n) || (n && (n < SFS_MIN_STRIPE_SIZE || n > SFS_MAX_STRIPE_SIZE || n % SFS_MIN_STRIPE_SIZE)))
				return -EINVAL;
			s->size = (uint32_t)n;
		} else if (!strcmp(t, "stripe_count")) {
			if (cfg_parse_int(eq + 1, &n) || n < -1 || n > SFS_MAX_STRIPES)
				return -EINVAL;
			s->count = (int32_t)n;
		} else if (!strcmp(t, "stripe_offset")) {
			if (cfg_parse_int(eq + 1, &n) || n < -1 || n > 65535)
				return -EINVAL;
			s->start = (int32_t)n;
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size, int flags)
{
	attrs_drop(ino);
	if (!strcmp(name, XA_LAYOUT)) {
		struct sfs_setlayout_req q = { .ino = ino };
		struct sfs_layout_rep *r = malloc(sizeof(*r));
		cred_of(req, &q.cred);
		int rc = r ? parse_sreq(value, size, &q.sreq) : -ENOMEM;
		if (!rc)
			rc = sfs_rpc(MDS, SFS_CLTOMD_SETLAYOUT, &q, r);
		if (!rc) {
			/* An open handle of ours must write to the new objects. */
			pthread_mutex_lock(&nodes_lock);
			struct node *n = node_find_locked(ino);
			if (n) {
				pthread_mutex_lock(&n->lock);
				n->layout = r->layout;
				pthread_mutex_unlock(&n->lock);
			}
			pthread_mutex_unlock(&nodes_lock);
		}
		free(r);
		fuse_reply_err(req, -rc);
		return;
	}
	if (!strcmp(name, XA_OSTS) || !strcmp(name, XA_MDS) || !strcmp(name, XA_STATS)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	struct sfs_xattr_req q = { .ino = ino };
	if (strlen(name) > SFS_XATTR_NAME_MAX) {
		fuse_reply_err(req, ERANGE);
		return;
	}
	if (size > SFS_XATTR_SIZE_MAX) {
		fuse_reply_err(req, E2BIG);
		return;
	}
	cred_of(req, &q.cred);
	snprintf(q.name, sizeof(q.name), "%s", name);
	q.flags = ((flags & XATTR_CREATE) ? SFS_XATTR_CREATE : 0) | ((flags & XATTR_REPLACE) ? SFS_XATTR_REPLACE : 0);
	struct sfs_call call = { .op = SFS_CLTOMD_SETXATTR, .req = &q, .bulk_out = value, .bulk_out_len = size };
	fuse_reply_err(req, -sfs_call_run(MDS, &call));
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct sfs_ino_req q = { .ino = ino };
	uint8_t *buf = malloc(SFS_XATTR_SIZE_MAX);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	cred_of(req, &q.cred);
	struct sfs_call call = { .op = SFS_CLTOMD_LISTXATTR, .req = &q, .bulk_in = buf, .bulk_in_cap = SFS_XATTR_SIZE_MAX };
	int rc = sfs_call_run(MDS, &call);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_xattr_text(req, (const char *)buf, call.bulk_in_len, size);
	free(buf);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	attrs_drop(ino);
	struct sfs_xattr_req q = { .ino = ino };
	if (strlen(name) > SFS_XATTR_NAME_MAX) {
		fuse_reply_err(req, ERANGE);
		return;
	}
	cred_of(req, &q.cred);
	snprintf(q.name, sizeof(q.name), "%s", name);
	fuse_reply_err(req, -sfs_rpc(MDS, SFS_CLTOMD_REMOVEXATTR, &q, NULL));
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	conn->max_write = SFS_MAX_IO;
	if (conn->max_readahead > SFS_MAX_IO || conn->max_readahead == 0)
		conn->max_readahead = SFS_MAX_IO;
	/* O_TRUNC arrives as a SETATTR (so objects are punched), and the kernel
	 * clears set-id bits itself with a SETATTR. */
	conn->want &= ~(unsigned)(FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_HANDLE_KILLPRIV);
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/* Read-ahead requests are "background" ones, 12 at a time by default:
	 * too few to keep every OSS busy for a few readers. */
	conn->max_background = 64;
	conn->congestion_threshold = 48;
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.lookup = op_lookup,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.fsyncdir = op_fsyncdir,
	.statfs = op_statfs,
	.access = op_access,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.create = op_create,
};

/* ---- recovery: after the MDS restarts, tell it which files we hold open ---- */

static volatile int stopping;

static void *recovery_main(void *arg)
{
	/* The first connection tells of a restart (the others reconnect too). */
	uint64_t seen = sfs_conn_generation(sfs_fs_mds(FS));
	while (!stopping) {
		struct timespec ts = { 0, 200 * 1000000 };
		nanosleep(&ts, NULL);
		pool_trim();
		uint64_t g = sfs_conn_generation(sfs_fs_mds(FS));
		if (g == seen)
			continue;
		seen = g;
		nf_revoke_flush(); /* the leases went with the old connection */
		uint64_t inos[256];
		int n = 0;
		pthread_mutex_lock(&nodes_lock);
		for (int b = 0; b < NODE_BUCKETS; b++)
			for (struct node *p = nodes[b]; p; p = p->next) {
				for (int k = 0; k < p->refs && n < 256; k++)
					inos[n++] = p->ino;
				/* Handles it was never told of are told of now too. */
				pthread_mutex_lock(&p->lock);
				atomic_fetch_sub(&unreg_total, p->unreg);
				p->unreg = 0;
				pthread_mutex_unlock(&p->lock);
			}
		pthread_mutex_unlock(&nodes_lock);
		for (int i = 0; i < n; i++) {
			struct sfs_open_req q = { .ino = inos[i], .flags = SFS_OPEN_REOPEN };
			struct sfs_attr_layout_rep *r = malloc(sizeof(*r));
			if (r && sfs_rpc(MDS, SFS_CLTOMD_OPEN, &q, r))
				log_warn("cannot re-register open inode %" PRIu64 " with the restarted MDS", inos[i]);
			free(r);
		}
		if (n)
			log_info("re-registered %d open file handle(s) with the MDS", n);
	}
	return NULL;
}

/* ---- main ---- */

static struct fuse_args fargs = FUSE_ARGS_INIT(0, NULL);

static void add_option(const char *opt)
{
	char *err = NULL;
	const char *eq = strchr(opt, '=');
	char key[128];
	size_t klen = eq ? (size_t)(eq - opt) : strlen(opt);
	if (klen < sizeof(key)) {
		memcpy(key, opt, klen);
		key[klen] = 0;
		int rc = cfg_set(&mount_prog, &O, key, eq ? eq + 1 : "true", &err);
		free(err);
		if (rc == 0)
			return;
		if (rc != -ENOENT)
			die("bad mount option '%s'", opt);
	}
	/* Options of mount(8) that mean nothing to FUSE. */
	if (!strcmp(opt, "rw") || !strcmp(opt, "defaults") || !strcmp(opt, "_netdev") || !strcmp(opt, "auto") ||
	    !strcmp(opt, "noauto") || !strcmp(opt, "user") || !strcmp(opt, "nouser"))
		return;
	fuse_opt_add_arg(&fargs, "-o");
	fuse_opt_add_arg(&fargs, opt);
}

int main(int argc, char **argv)
{
	err_set_progname("sfs-mount");
	/* Data buffers (up to 1 MiB, for reads and write-behind) come from mmap
	 * and go back to the kernel when freed: glibc's default raises its mmap
	 * threshold after the first free and then keeps such buffers in its
	 * arenas, so resident memory crept up with the run instead of staying
	 * bounded by what is in flight. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	int idx = cfg_parse_args(&mount_prog, &O, argc, argv);
	/* mount(8) puts -o after the positionals: accept options anywhere. */
	char *pos[2];
	int npos = 0;
	char *optstr = O.options ? strdup(O.options) : NULL;
	for (int i = idx; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			size_t a = optstr ? strlen(optstr) : 0, b = strlen(argv[i + 1]);
			char *s = malloc(a + b + 2);
			snprintf(s, a + b + 2, "%s%s%s", optstr ? optstr : "", optstr ? "," : "", argv[i + 1]);
			free(optstr);
			optstr = s;
			i++;
		} else if (!strcmp(argv[i], "-f")) {
			O.foreground = true;
		} else if (npos < 2) {
			pos[npos++] = argv[i];
		} else {
			die("unexpected argument '%s'; see sfs-mount --help", argv[i]);
		}
	}
	if (npos != 2)
		die("expected HOST[:PORT]:/FSNAME and MOUNTPOINT; see sfs-mount --help");
	fuse_opt_add_arg(&fargs, "sfs-mount");
	if (optstr) {
		char *save = NULL;
		for (char *t = strtok_r(optstr, ",", &save); t; t = strtok_r(NULL, ",", &save))
			add_option(t);
	}
	int lvl = log_level_parse(O.log_level);
	if (lvl < 0)
		die("unknown log level '%s'; use error, warn, info or debug", O.log_level);
	log_init("sfs-mount", (enum log_level)lvl);

	/* HOST[:PORT]:/FSNAME */
	char *spec = pos[0], *mnt = pos[1];
	char *colon_slash = strstr(spec, ":/");
	if (!colon_slash)
		die("bad source '%s'; expected HOST[:PORT]:/FSNAME", spec);
	*colon_slash = 0;
	const char *want_fs = colon_slash + 2;
	char *host = NULL;
	int port = 0;
	if (net_split_hostport(spec, &host, &port, SFS_DEFAULT_PORT))
		die("bad server '%s'; expected HOST[:PORT]", spec);
	snprintf(mds_spec, sizeof(mds_spec), "%s:%d:/%s", host, port, want_fs);
	if (!realpath(mnt, mnt_path))
		die("cannot find mount point '%s': %s", mnt, strerror(errno));
	attr_to = (double)O.attr_timeout_ms / 1000.0;
	entry_to = (double)O.entry_timeout_ms / 1000.0;

	/* Daemonise before any thread exists; the parent waits for the
	 * child's verdict so that `mount` reports errors and returns only
	 * once the file system is usable. */
	int pipefd[2] = { -1, -1 };
	if (!O.foreground) {
		if (pipe(pipefd))
			die("cannot make a pipe: %s", strerror(errno));
		pid_t pid = fork();
		if (pid < 0)
			die("cannot fork: %s", strerror(errno));
		if (pid > 0) {
			char c = 1;
			close(pipefd[1]);
			if (read(pipefd[0], &c, 1) != 1)
				c = 1;
			_exit(c);
		}
		close(pipefd[0]);
		setsid();
	}
	if (O.log_file && log_open_file(O.log_file))
		die("cannot open log file '%s'", O.log_file);

	char errbuf[512];
	struct sfs_fs_opts fo = { .mds_host = host, .mds_port = port, .munge_socket = O.munge_socket,
				  .timeout_ms = O.timeout_ms, .conns_per_ost = (int)O.conns, .role = SFS_ROLE_CLIENT,
				  .mds_conns = (int)O.mds_conns };
	if (O.leases && O.mds_conns <= 1) {
		fo.notify = on_recall;
		if (pthread_create(&releaser, NULL, releaser_main, NULL))
			die("cannot start a thread");
	}
	FS = sfs_fs_open(&fo, errbuf, sizeof(errbuf));
	if (!FS)
		die("cannot mount '%s:%d:/%s': %s", host, port, want_fs, errbuf);
	if (strcmp(sfs_fs_name(FS), want_fs))
		die("the server at '%s:%d' serves file system '%s', not '%s'", host, port, sfs_fs_name(FS), want_fs);

	char fsopt[600];
	snprintf(fsopt, sizeof(fsopt), "fsname=%s,subtype=sfs%s", mds_spec,
		 getuid() == 0 ? ",allow_other" : "");
	fuse_opt_add_arg(&fargs, "-o");
	fuse_opt_add_arg(&fargs, fsopt);
	if (O.fuse_debug)
		fuse_opt_add_arg(&fargs, "-d");
	struct fuse_session *se = fuse_session_new(&fargs, &ops, sizeof(ops), NULL);
	SE = se;
	if (!se)
		die("cannot start a FUSE session; see the message above");
	if (fuse_set_signal_handlers(se))
		die("cannot install signal handlers");
	if (fuse_session_mount(se, mnt))
		die("cannot mount on '%s'; does it exist, and is FUSE available (/dev/fuse)?", mnt);
	log_info("mounted '%s' on '%s'", mds_spec, mnt);
	if (O.pid_file && util_write_pidfile(O.pid_file))
		log_warn("cannot write pid file '%s'", O.pid_file);
	pthread_t rt, wbt[WB_THREADS];
	pthread_create(&rt, NULL, recovery_main, NULL);
	for (int i = 0; i < WB_THREADS; i++)
		if (pthread_create(&wbt[i], NULL, wb_main, NULL))
			die("cannot start the write-behind threads");
	if (!O.foreground) {
		char c = 0;
		if (write(pipefd[1], &c, 1) != 1)
			log_warn("cannot tell the parent process that the mount is ready");
		close(pipefd[1]);
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2); /* the log, if any, has its own descriptor */
			close(nul);
		}
	}
	int rc = loop_run(se, (int)O.threads);
	if (rc)
		log_error("the FUSE request loop ended: %s", strerror(-rc));
	stopping = 1;
	pthread_join(rt, NULL);
	pthread_mutex_lock(&wb_lock);
	wb_stop = true;
	pthread_cond_broadcast(&wb_work);
	pthread_mutex_unlock(&wb_lock);
	for (int i = 0; i < WB_THREADS; i++)
		pthread_join(wbt[i], NULL);
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	/* Requests sent behind their answers (creates, removes, closes) reach
	 * the MDS before we go, within the timeout. */
	int64_t until = util_mono_ms() + (O.timeout_ms < 10000 ? O.timeout_ms : 10000);
	pthread_mutex_lock(&async_lock);
	while (async_inflight > 0 && util_mono_ms() < until) {
		pthread_mutex_unlock(&async_lock);
		struct timespec ts = { 0, 10 * 1000000 };
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&async_lock);
	}
	if (async_inflight > 0)
		log_warn("%d request(s) to the MDS still unanswered at unmount", async_inflight);
	pthread_mutex_unlock(&async_lock);
	sfs_fs_close(FS);
	fuse_opt_free_args(&fargs);
	free(host);
	free(optstr);
	cfg_release(&mount_prog, &O);
	return rc ? 1 : 0;
}
