/*
 * mds.h: what the parts of sfs-mds share: the server state, the LMDB
 * databases, the inode record, and the operation handlers.
 *
 * Threads: one per connection reads requests and answers read-only ones
 * itself (LMDB readers never block); changes are queued, and the first
 * queuing thread that finds no commit under way becomes the committer: it
 * applies every queued request in one write transaction (each in a nested
 * transaction, so one failure undoes only itself), commits once and only
 * then answers them.  Commits reach the page cache at once (a kill -9 of the
 * MDS loses nothing answered); they reach the disk at the next sync: before
 * the reply of any request that promises durability (fsync's SETSIZE, OSS
 * heartbeats that hand out objects to destroy, layout swaps...), and every
 * sync_interval in any case.  `lock` guards the in-memory state (OST table,
 * open files, sessions).
 */
#ifndef STRATUS_MDS_H
#define STRATUS_MDS_H

#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto/sfs_proto.h"
#include "proto/sfs_wire.h"

#define MDS_MAX_OSTS 256

struct mds_opts {
	char *dir;
	char *listen;
	int64_t port;
	char *port_file;
	char *munge_socket;
	char *fsname;
	int64_t stripe_count;
	int64_t stripe_size;
	char *log_file;
	char *log_level;
	char *pid_file;
	int64_t map_size;
	int64_t recovery_ms;
	int64_t ost_timeout_ms;
	int64_t reply_ttl_ms;
	char *root_squash;
	char *nosquash_nets;
	int64_t qos_threshold;
	char *fault_crash_after;
	int64_t sync_interval_ms;
	int64_t lease_recall_ms;
	int64_t lease_cooldown_ms;
	bool no_leases;
	bool fault_refuse_async;
};

struct mds_ost {
	bool registered;
	char uuid[SFS_FSNAME_MAX + 1];
	char addr[SFS_ADDR_MAX + 1];
	uint32_t port;
	uint64_t total, free;
	int64_t last_seen_ms;
	bool inactive;             /* takes no new objects (being drained) */
};

struct open_ent {
	uint64_t client, ino;
	uint32_t count;
	struct open_ent *next;
};

#define SESSION_RANGES 4

struct session {
	uint64_t client;
	int nconns;
	int64_t gone_ms;
	/* Inode numbers reserved for this client's asynchronous creates
	 * (INORANGE): [start, end), the newest SESSION_RANGES of them. */
	uint64_t rstart[SESSION_RANGES], rend[SESSION_RANGES];
	unsigned rnext;
	struct session *next;
};

#define OPEN_BUCKETS 4096

struct mds {
	struct mds_opts o;
	MDB_env *env;
	MDB_dbi db_inode, db_dirent, db_dirseq, db_xattr, db_ost, db_destroy, db_orphan, db_reply, db_meta;
	uint64_t next_ino, next_objid, next_dseq;
	/* Ids below these may have been handed out; each is durable before any
	 * id at or above the old value is answered (see mds.c, the committer). */
	uint64_t ino_limit, objid_limit;

	pthread_mutex_t lock;
	struct mds_ost osts[MDS_MAX_OSTS];
	uint32_t nost;
	uint32_t rr;
	struct open_ent *opens[OPEN_BUCKETS];
	struct session *sessions;
	int64_t started_ms;
	uint64_t boot_next_ino;    /* next_ino when this MDS started: lower ones were handed out before */
	uint32_t squash_uid, squash_gid;
	bool squash;
};

/* The inode record (db_inode value), packed field by field (see on-disk-format.md). */
struct mds_inode {
	struct sfs_attr a;
	uint64_t parent;           /* directories: where ".." points */
	uint64_t next_seq;         /* directories: next readdir cookie */
	struct sfs_sreq dflt;      /* directories: default layout for new files */
	struct sfs_layout layout;  /* regular files */
	char target[SFS_PATH_MAX + 1]; /* symlinks */
};

/* A lease, as a request that must wait for it names it. */
struct mds_lease_ref {
	uint64_t dir, id;  /* id 0: none */
};

/* One transaction as the handlers see it. */
struct mtx {
	struct mds *m;
	MDB_txn *t;
	int64_t now;       /* ns since the epoch, one clock reading per request */
	bool dirty;        /* the request changed the database */
	uint64_t client;   /* the asking client (leases); 0: housekeeping, OSS, admin */
	void *conn;        /* its connection, to grant a lease on; NULL: no grants */
	struct mds_lease_ref recall; /* set with -MDS_ERECALL: the lease to wait for */
	bool async;        /* the client answered this already (SFS_FLAG_ASYNC): it never waits for a lease */
};

/* What a handler gets and gives. */
struct mreq {
	const struct sfs_peer *peer;
	uint16_t op;
	union sfs_msg *in;
	union sfs_msg *out;
	const uint8_t *bulk;
	size_t blen;
	uint8_t *rbulk;     /* room for the reply's bulk (rbulk_cap bytes) */
	size_t rbulk_cap, rblen;
};

/* mds_db.c */
int mds_db_open(struct mds *m);
void mds_db_close(struct mds *m);
/* Write a counter of the meta database in transaction t.  0 or -EIO. */
int mds_meta_put_u64(MDB_txn *t, struct mds *m, const char *name, uint64_t v);
/* Make every commit so far durable (fdatasync).  0 or -EIO. */
int mds_db_sync(struct mds *m);
int inode_get(struct mtx *x, uint64_t ino, struct mds_inode *i);
int inode_put(struct mtx *x, const struct mds_inode *i);

/* mds_ops.c: each handler returns 0 or -errno; out/rbulk filled on 0. */
int mds_handle(struct mtx *x, struct mreq *r);
/* Effective credential of a request: the MUNGE identity rules, root squash. */
void mds_fix_cred(struct mds *m, const struct sfs_peer *peer, struct sfs_cred *c);
/* Housekeeping, applied by the committer. */
int mds_destroy_orphans(struct mtx *x, bool all_unopened);
int mds_prune_replies(struct mtx *x, int64_t older_than_ms);
void mds_drop_client_opens(struct mds *m, uint64_t client);
int mds_release_orphan_if_unused(struct mtx *x, uint64_t ino);

/* ---- directory leases (mds_lease.c) ----
 * A handler that meets another client's lease returns -MDS_ERECALL with
 * x->recall set; the request is then parked until the lease is given back
 * (never answered with that code). */
#define MDS_ERECALL 100000

struct mds_lease_ops {
	void (*hold)(void *conn);
	void (*put)(void *conn);
	void (*recall)(void *conn, uint64_t dir, uint64_t lease); /* send SFS_MDTOCL_RECALL */
};
void mds_lease_init(const struct mds_lease_ops *ops, int64_t recall_timeout_ms, int64_t cooldown_ms);
/* The request reads or changes directory dir's names: 0, or -MDS_ERECALL.
 * With grant and lease, a lease may be granted (or is held already) by the
 * asking client: its id in *lease, else 0. */
int mds_lease_dir(struct mtx *x, uint64_t dir, bool grant, uint64_t *lease);
/* The request changes ino's attributes: 0, or -MDS_ERECALL.  An
 * asynchronous request (x->async) does not wait: the lease is recalled and
 * the change goes ahead (the holder stops using it at the recall). */
int mds_lease_ino(struct mtx *x, uint64_t ino);
/* Cover ino by the asking client's lease on dir: the lease id, or 0. */
uint64_t mds_lease_cover(struct mtx *x, uint64_t dir, uint64_t ino);
/* The asking client's lease covering ino, or 0. */
uint64_t mds_lease_covering(struct mtx *x, uint64_t ino);
/* Park waiter until lease r is gone (sending the recall if not yet sent):
 * 1, or 0 if that lease is gone already (run it now). */
int mds_lease_park(const struct mds_lease_ref *r, void *waiter);
/* SFS_CLTOMD_RELEASE from the asking client. */
void mds_lease_release(struct mtx *x, uint64_t dir, uint64_t id);
/* Every lease granted on conn is gone (the connection closed). */
void mds_lease_conn_gone(void *conn);
/* Take back leases whose recall timed out. */
void mds_lease_expire(void);
/* The waiters that may run again (malloc'd array, caller frees): count. */
size_t mds_lease_take_ready(void ***out);
void mds_lease_stats(uint64_t *held, uint64_t *granted, uint64_t *recalled, uint64_t *expired);

/* keys */
static inline void key_u64(uint8_t *k, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		k[i] = (uint8_t)(v >> (56 - 8 * i));
}
static inline uint64_t get_u64(const uint8_t *k)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | k[i];
	return v;
}

#endif
