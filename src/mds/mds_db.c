/*
 * mds_db.c: the MDS's LMDB environment and the inode record codec.
 *
 * Databases (keys big-endian so that LMDB's byte order is numeric order):
 *   inode   ino:64                 -> inode record (mds_inode, packed)
 *   dirent  parent:64 name         -> ino:64 mode:32 seq:64
 *   dirseq  parent:64 seq:64       -> ino:64 mode:32 name   (readdir order, cookies)
 *   xattr   ino:64 name            -> value
 *   ost     index:32               -> uuid addr port:32 total:64 free:64
 *   destroy ost:32 seq:64          -> objid:64   (objects the OSS must delete)
 *   orphan  ino:64                 -> (empty)    (unlinked while open)
 *   reply   client:64 reqid:64     -> time:64 status:32 payload   (reply cache)
 *   meta    name                   -> value (counters, fs name)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "mds/mds.h"
#include "proto/sfs_pack.h"

#define INODE_REC_VERSION 1

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int inode_get(struct mtx *x, uint64_t ino, struct mds_inode *i)
{
	uint8_t k[8];
	key_u64(k, ino);
	MDB_val key = { 8, k }, val;
	int rc = mdb_get(x->t, x->m->db_inode, &key, &val);
	if (rc == MDB_NOTFOUND)
		return -ENOENT;
	if (rc)
		return -EIO;
	struct pack_r r;
	pr_init(&r, val.mv_data, val.mv_size);
	memset(i, 0, sizeof(*i));
	if (pr_u8(&r) != INODE_REC_VERSION)
		return -EIO;
	struct sfs_attr *a = &i->a;
	a->ino = ino;
	a->mode = pr_u32(&r);
	a->nlink = pr_u32(&r);
	a->uid = pr_u32(&r);
	a->gid = pr_u32(&r);
	a->rdev = pr_u32(&r);
	a->size = pr_u64(&r);
	a->atime = (int64_t)pr_u64(&r);
	a->mtime = (int64_t)pr_u64(&r);
	a->ctime = (int64_t)pr_u64(&r);
	a->gen = pr_u64(&r);
	i->parent = pr_u64(&r);
	i->next_seq = pr_u64(&r);
	i->dflt.count = (int32_t)pr_u32(&r);
	i->dflt.size = pr_u32(&r);
	i->dflt.start = (int32_t)pr_u32(&r);
	i->layout.stripe_size = pr_u32(&r);
	i->layout.count = pr_u32(&r);
	i->layout.gen = pr_u64(&r);
	if (i->layout.count > SFS_MAX_STRIPES)
		return -EIO;
	for (uint32_t s = 0; s < i->layout.count; s++) {
		i->layout.stripes[s].ost = pr_u32(&r);
		i->layout.stripes[s].objid = pr_u64(&r);
	}
	pr_str(&r, i->target, SFS_PATH_MAX);
	if (r.err) {
		log_error("inode %" PRIu64 " record is corrupt", ino);
		return -EIO;
	}
	a->blocks = (a->size + 511) / 512;
	return 0;
}

int inode_put(struct mtx *x, const struct mds_inode *i)
{
	/* Attributes another client may hold under a lease: recall it first. */
	int lrc = mds_lease_ino(x, i->a.ino);
	if (lrc)
		return lrc;
	uint8_t buf[2048 + SFS_PATH_MAX];
	struct pack_w w;
	const struct sfs_attr *a = &i->a;
	pw_init(&w, buf, sizeof(buf));
	pw_u8(&w, INODE_REC_VERSION);
	pw_u32(&w, a->mode);
	pw_u32(&w, a->nlink);
	pw_u32(&w, a->uid);
	pw_u32(&w, a->gid);
	pw_u32(&w, a->rdev);
	pw_u64(&w, a->size);
	pw_u64(&w, (uint64_t)a->atime);
	pw_u64(&w, (uint64_t)a->mtime);
	pw_u64(&w, (uint64_t)a->ctime);
	pw_u64(&w, a->gen);
	pw_u64(&w, i->parent);
	pw_u64(&w, i->next_seq);
	pw_u32(&w, (uint32_t)i->dflt.count);
	pw_u32(&w, i->dflt.size);
	pw_u32(&w, (uint32_t)i->dflt.start);
	pw_u32(&w, i->layout.stripe_size);
	pw_u32(&w, i->layout.count);
	pw_u64(&w, i->layout.gen);
	for (uint32_t s = 0; s < i->layout.count; s++) {
		pw_u32(&w, i->layout.stripes[s].ost);
		pw_u64(&w, i->layout.stripes[s].objid);
	}
	pw_str(&w, i->target, SFS_PATH_MAX);
	if (w.err)
		return -EIO;
	uint8_t k[8];
	key_u64(k, a->ino);
	MDB_val key = { 8, k }, val = { w.len, buf };
	int rc = mdb_put(x->t, x->m->db_inode, &key, &val, 0);
	if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL)
		return -ENOSPC;
	if (rc)
		return -EIO;
	x->dirty = true;
	return 0;
}

static int meta_get_u64(MDB_txn *t, MDB_dbi db, const char *name, uint64_t *v)
{
	MDB_val key = { strlen(name), (void *)name }, val;
	int rc = mdb_get(t, db, &key, &val);
	if (rc)
		return rc == MDB_NOTFOUND ? -ENOENT : -EIO;
	if (val.mv_size != 8)
		return -EIO;
	*v = get_u64(val.mv_data);
	return 0;
}

static int meta_put(MDB_txn *t, MDB_dbi db, const char *name, const void *v, size_t len)
{
	MDB_val key = { strlen(name), (void *)name }, val = { len, (void *)v };
	return mdb_put(t, db, &key, &val, 0) ? -EIO : 0;
}

static int meta_put_u64(MDB_txn *t, MDB_dbi db, const char *name, uint64_t v)
{
	uint8_t b[8];
	key_u64(b, v);
	return meta_put(t, db, name, b, 8);
}

/* Load the OST table and counters into memory; format an empty database. */
static int load_or_format(struct mds *m)
{
	MDB_txn *t;
	int rc = mdb_txn_begin(m->env, NULL, 0, &t);
	if (rc)
		return -EIO;
	MDB_dbi *dbs[] = { &m->db_inode, &m->db_dirent, &m->db_dirseq, &m->db_xattr, &m->db_ost,
			   &m->db_destroy, &m->db_orphan, &m->db_reply, &m->db_meta };
	const char *names[] = { "inode", "dirent", "dirseq", "xattr", "ost", "destroy", "orphan", "reply", "meta" };
	for (size_t i = 0; i < ARRAY_SIZE(dbs); i++)
		if (mdb_dbi_open(t, names[i], MDB_CREATE, dbs[i])) {
			mdb_txn_abort(t);
			return -EIO;
		}
	if (meta_get_u64(t, m->db_meta, "next_ino", &m->next_ino) == -ENOENT) {
		/* A new file system: the root directory and the counters. */
		struct mtx x = { m, t, now_ns(), false };
		struct mds_inode root;
		memset(&root, 0, sizeof(root));
		root.a.ino = SFS_ROOT_INO;
		root.a.mode = 040755;
		root.a.nlink = 2;
		root.a.atime = root.a.mtime = root.a.ctime = x.now;
		root.a.gen = 1;
		root.parent = SFS_ROOT_INO;
		root.next_seq = 3;
		root.dflt.count = (int32_t)m->o.stripe_count;
		root.dflt.size = (uint32_t)m->o.stripe_size;
		root.dflt.start = -1;
		m->next_ino = 2;
		m->next_objid = 1;
		m->next_dseq = 1;
		if (inode_put(&x, &root) || meta_put_u64(t, m->db_meta, "next_ino", m->next_ino) ||
		    meta_put_u64(t, m->db_meta, "next_objid", m->next_objid) ||
		    meta_put_u64(t, m->db_meta, "next_dseq", m->next_dseq) ||
		    meta_put(t, m->db_meta, "fsname", m->o.fsname, strlen(m->o.fsname))) {
			mdb_txn_abort(t);
			return -EIO;
		}
		log_info("formatted a new file system '%s' in '%s'", m->o.fsname, m->o.dir);
	} else {
		if (meta_get_u64(t, m->db_meta, "next_objid", &m->next_objid) ||
		    meta_get_u64(t, m->db_meta, "next_dseq", &m->next_dseq)) {
			mdb_txn_abort(t);
			return -EIO;
		}
		/* After a crash of the machine the counters may be behind ids
		 * already answered; the limits never are (synced first). */
		uint64_t lim;
		if (meta_get_u64(t, m->db_meta, "ino_limit", &lim) == 0 && lim > m->next_ino)
			m->next_ino = lim;
		if (meta_get_u64(t, m->db_meta, "objid_limit", &lim) == 0 && lim > m->next_objid)
			m->next_objid = lim;
		/* next_ino and next_objid are not stored at every create (that
		 * was a write to one more B-tree each time): ids continue from
		 * the limits above.  next_dseq is stored with every destroy. */
		MDB_val key = { 6, "fsname" }, val;
		if (!mdb_get(t, m->db_meta, &key, &val) &&
		    (val.mv_size != strlen(m->o.fsname) || memcmp(val.mv_data, m->o.fsname, val.mv_size))) {
			log_warn("file system in '%s' is named '%.*s'; serving it under that name",
				 m->o.dir, (int)val.mv_size, (const char *)val.mv_data);
			free(m->o.fsname);
			m->o.fsname = strndup(val.mv_data, val.mv_size > SFS_FSNAME_MAX ? SFS_FSNAME_MAX : val.mv_size);
		}
	}
	/* OST table */
	MDB_cursor *cur;
	MDB_val key, val;
	if (mdb_cursor_open(t, m->db_ost, &cur) == 0) {
		int c = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
		for (; c == 0; c = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
			if (key.mv_size != 4)
				continue;
			const uint8_t *kb = key.mv_data;
			uint32_t idx = ((uint32_t)kb[0] << 24) | ((uint32_t)kb[1] << 16) | ((uint32_t)kb[2] << 8) | kb[3];
			if (idx >= MDS_MAX_OSTS)
				continue;
			struct pack_r r;
			struct mds_ost *o = &m->osts[idx];
			pr_init(&r, val.mv_data, val.mv_size);
			pr_str(&r, o->uuid, SFS_FSNAME_MAX);
			pr_str(&r, o->addr, SFS_ADDR_MAX);
			o->port = pr_u32(&r);
			o->total = pr_u64(&r);
			o->free = pr_u64(&r);
			/* A flag byte added later: records without it are active. */
			o->inactive = r.pos < val.mv_size && pr_u8(&r);
			if (r.err)
				continue;
			o->registered = true;
			/* Assume it is up until it has had time to report (restart grace). */
			o->last_seen_ms = util_mono_ms();
			if (idx + 1 > m->nost)
				m->nost = idx + 1;
		}
		mdb_cursor_close(cur);
	}
	if (mdb_txn_commit(t))
		return -EIO;
	return 0;
}

int mds_db_open(struct mds *m)
{
	int rc = util_mkdirs(m->o.dir, 0700);
	if (rc)
		return error("cannot create MDS directory '%s': %s", m->o.dir, strerror(-rc));
	if ((rc = mdb_env_create(&m->env)))
		return error("cannot create the LMDB environment: %s", mdb_strerror(rc));
	mdb_env_set_maxdbs(m->env, 16);
	mdb_env_set_maxreaders(m->env, 1024);
	mdb_env_set_mapsize(m->env, (size_t)m->o.map_size);
	/* NOTLS: read transactions are reused by whichever thread holds them. */
	/* NOSYNC: a commit is written to the page cache only; mds.c syncs
	 * (mdb_env_sync) before answering what must be durable, and every
	 * sync interval. */
	rc = mdb_env_open(m->env, m->o.dir, MDB_NOTLS | MDB_NOSYNC, 0600);
	if (rc) {
		error("cannot open the metadata database in '%s': %s", m->o.dir, mdb_strerror(rc));
		mdb_env_close(m->env);
		return -EIO;
	}
	int dead = 0;
	mdb_reader_check(m->env, &dead);
	if ((rc = load_or_format(m)) || (rc = mds_db_sync(m))) {
		error("cannot load the metadata database in '%s'; is it from another program?", m->o.dir);
		mdb_env_close(m->env);
		return rc;
	}
	return 0;
}

int mds_db_sync(struct mds *m)
{
	int rc = mdb_env_sync(m->env, 1);
	if (rc) {
		log_error("cannot sync the metadata database in '%s': %s", m->o.dir, mdb_strerror(rc));
		return -EIO;
	}
	return 0;
}

void mds_db_close(struct mds *m)
{
	if (m->env) {
		mds_db_sync(m);
		mdb_env_close(m->env);
	}
	m->env = NULL;
}

/* Exported for mds_ops.c: counters are written in the transaction that uses them. */
int mds_meta_put_u64(MDB_txn *t, struct mds *m, const char *name, uint64_t v)
{
	return meta_put_u64(t, m->db_meta, name, v);
}

int64_t mds_now_ns(void);
int64_t mds_now_ns(void)
{
	return now_ns();
}
