/*
 * mds_ops.c: the metadata operations.  Each handler runs inside a transaction
 * (a nested write transaction for changes, a read transaction otherwise),
 * checks permissions against the request's credential, and returns 0 or
 * -errno; on an error the caller aborts the nested transaction, so a handler
 * may fail half-way without cleaning up.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/util.h"
#include "mds/mds.h"
#include "proto/sfs_pack.h"

int64_t mds_now_ns(void);

static int lmdb_err(int rc)
{
	if (rc == 0)
		return 0;
	if (rc == MDB_NOTFOUND)
		return -ENOENT;
	if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL)
		return -ENOSPC;
	return -EIO;
}

/* ---- permissions ---- */

static bool in_group(const struct sfs_cred *c, uint32_t gid)
{
	if (c->gid == gid)
		return true;
	for (uint32_t i = 0; i < c->ngroups && i < SFS_MAX_GROUPS; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}

/* mask: 4 read, 2 write, 1 execute/search. */
static int may(const struct mds_inode *i, const struct sfs_cred *c, unsigned mask)
{
	uint32_t mode = i->a.mode;
	if (c->uid == 0) {
		if ((mask & 1) && !S_ISDIR(mode) && !(mode & 0111))
			return -EACCES;
		return 0;
	}
	unsigned bits;
	if (c->uid == i->a.uid)
		bits = (mode >> 6) & 7;
	else if (in_group(c, i->a.gid))
		bits = (mode >> 3) & 7;
	else
		bits = mode & 7;
	return (bits & mask) == mask ? 0 : -EACCES;
}

static bool is_owner(const struct mds_inode *i, const struct sfs_cred *c)
{
	return c->uid == 0 || c->uid == i->a.uid;
}

void mds_fix_cred(struct mds *m, const struct sfs_peer *peer, struct sfs_cred *c)
{
	/* Only a client whose MUNGE identity is root may act for other users
	 * (sfs-mount runs as root and passes the caller's ids); anyone else
	 * acts as who MUNGE says they are. */
	if (peer->uid != 0) {
		c->uid = peer->uid;
		c->gid = peer->gid;
		c->ngroups = 0;
		return;
	}
	if (m->squash && peer->squash && c->uid == 0 && peer->role != SFS_ROLE_OSS) {
		c->uid = m->squash_uid;
		c->gid = m->squash_gid;
		c->ngroups = 0;
	}
}

/* ---- directory entries ---- */

static int name_ok(const char *name)
{
	if (!name[0] || strchr(name, '/'))
		return -EINVAL;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	return 0;
}

static size_t dkey(uint8_t *k, uint64_t parent, const char *name)
{
	size_t n = strlen(name);
	key_u64(k, parent);
	memcpy(k + 8, name, n);
	return 8 + n;
}

struct dent {
	uint64_t ino, seq;
	uint32_t mode;
};

/* Every read and change of a directory's names goes through dirent_get,
 * dirent_add and dirent_del (and op_readdir): there another client's lease
 * on the directory is recalled first (mds_lease.c). */
static int dirent_get(struct mtx *x, uint64_t parent, const char *name, struct dent *d)
{
	int lrc = mds_lease_dir(x, parent, false, NULL);
	if (lrc)
		return lrc;
	uint8_t k[8 + SFS_NAME_MAX];
	MDB_val key = { dkey(k, parent, name), k }, val;
	int rc = mdb_get(x->t, x->m->db_dirent, &key, &val);
	if (rc)
		return lmdb_err(rc);
	if (val.mv_size != 20)
		return -EIO;
	const uint8_t *v = val.mv_data;
	d->ino = get_u64(v);
	d->mode = ((uint32_t)v[8] << 24) | ((uint32_t)v[9] << 16) | ((uint32_t)v[10] << 8) | v[11];
	d->seq = get_u64(v + 12);
	return 0;
}

static int dirent_add(struct mtx *x, struct mds_inode *dir, const char *name, uint64_t ino, uint32_t mode)
{
	uint8_t k[8 + SFS_NAME_MAX], v[20], sk[16], sv[12 + SFS_NAME_MAX];
	int lrc = mds_lease_dir(x, dir->a.ino, false, NULL);
	if (lrc)
		return lrc;
	uint64_t seq = dir->next_seq++;
	struct pack_w w;
	pw_init(&w, v, sizeof(v));
	pw_u64(&w, ino);
	pw_u32(&w, mode);
	pw_u64(&w, seq);
	MDB_val key = { dkey(k, dir->a.ino, name), k }, val = { 20, v };
	int rc = mdb_put(x->t, x->m->db_dirent, &key, &val, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST)
		return -EEXIST;
	if (rc)
		return lmdb_err(rc);
	key_u64(sk, dir->a.ino);
	key_u64(sk + 8, seq);
	size_t n = strlen(name);
	pw_init(&w, sv, sizeof(sv));
	pw_u64(&w, ino);
	pw_u32(&w, mode);
	pw_bytes(&w, name, n);
	MDB_val skey = { 16, sk }, sval = { w.len, sv };
	if ((rc = mdb_put(x->t, x->m->db_dirseq, &skey, &sval, 0)))
		return lmdb_err(rc);
	x->dirty = true;
	return 0;
}

static int dirent_del(struct mtx *x, uint64_t parent, const char *name)
{
	struct dent d;
	int rc = dirent_get(x, parent, name, &d);
	if (rc)
		return rc;
	uint8_t k[8 + SFS_NAME_MAX], sk[16];
	MDB_val key = { dkey(k, parent, name), k };
	if ((rc = mdb_del(x->t, x->m->db_dirent, &key, NULL)))
		return lmdb_err(rc);
	key_u64(sk, parent);
	key_u64(sk + 8, d.seq);
	MDB_val skey = { 16, sk };
	rc = mdb_del(x->t, x->m->db_dirseq, &skey, NULL);
	if (rc && rc != MDB_NOTFOUND)
		return lmdb_err(rc);
	x->dirty = true;
	return 0;
}

static int dir_empty(struct mtx *x, uint64_t dir)
{
	MDB_cursor *c;
	uint8_t sk[16];
	key_u64(sk, dir);
	key_u64(sk + 8, 0);
	MDB_val key = { 16, sk }, val;
	if (mdb_cursor_open(x->t, x->m->db_dirseq, &c))
		return -EIO;
	int rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
	int empty = rc == MDB_NOTFOUND || (rc == 0 && (key.mv_size != 16 || get_u64(key.mv_data) != dir));
	mdb_cursor_close(c);
	if (rc && rc != MDB_NOTFOUND)
		return -EIO;
	return empty ? 0 : -ENOTEMPTY;
}

/* ---- objects and OSTs ---- */

static int queue_destroy(struct mtx *x, const struct sfs_layout *l)
{
	for (uint32_t s = 0; s < l->count; s++) {
		uint8_t k[12], v[8];
		k[0] = (uint8_t)(l->stripes[s].ost >> 24);
		k[1] = (uint8_t)(l->stripes[s].ost >> 16);
		k[2] = (uint8_t)(l->stripes[s].ost >> 8);
		k[3] = (uint8_t)l->stripes[s].ost;
		key_u64(k + 4, x->m->next_dseq++);
		key_u64(v, l->stripes[s].objid);
		MDB_val key = { 12, k }, val = { 8, v };
		int rc = mdb_put(x->t, x->m->db_destroy, &key, &val, 0);
		if (rc)
			return lmdb_err(rc);
	}
	x->dirty = true;
	/* Stored with every change: an OSS acknowledges destroys up to a
	 * sequence number, so numbers must never go back after a restart. */
	return mds_meta_put_u64(x->t, x->m, "next_dseq", x->m->next_dseq);
}

static int xattrs_del(struct mtx *x, uint64_t ino)
{
	MDB_cursor *c;
	uint8_t k[8];
	key_u64(k, ino);
	MDB_val key = { 8, k }, val;
	if (mdb_cursor_open(x->t, x->m->db_xattr, &c))
		return -EIO;
	int rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
	while (rc == 0 && key.mv_size >= 8 && get_u64(key.mv_data) == ino) {
		if (mdb_cursor_del(c, 0))
			break;
		rc = mdb_cursor_get(c, &key, &val, MDB_GET_CURRENT);
	}
	mdb_cursor_close(c);
	return 0;
}

/* Delete an inode whose last name is gone and that nobody has open. */
static int inode_destroy(struct mtx *x, struct mds_inode *i)
{
	uint8_t k[8];
	key_u64(k, i->a.ino);
	MDB_val key = { 8, k };
	int rc = queue_destroy(x, &i->layout);
	if (rc)
		return rc;
	xattrs_del(x, i->a.ino);
	rc = mdb_del(x->t, x->m->db_inode, &key, NULL);
	if (rc && rc != MDB_NOTFOUND)
		return lmdb_err(rc);
	mdb_del(x->t, x->m->db_orphan, &key, NULL);
	x->dirty = true;
	return 0;
}

static uint32_t open_hash(uint64_t ino)
{
	return (uint32_t)((ino * 0x9E3779B97F4A7C15ULL) >> 52) % OPEN_BUCKETS;
}

/* Under m->lock. */
static uint32_t open_total(struct mds *m, uint64_t ino)
{
	uint32_t n = 0;
	for (struct open_ent *e = m->opens[open_hash(ino)]; e; e = e->next)
		if (e->ino == ino)
			n += e->count;
	return n;
}

static void open_inc(struct mds *m, uint64_t client, uint64_t ino)
{
	pthread_mutex_lock(&m->lock);
	struct open_ent **b = &m->opens[open_hash(ino)], *e;
	for (e = *b; e; e = e->next)
		if (e->ino == ino && e->client == client)
			break;
	if (!e && (e = calloc(1, sizeof(*e)))) {
		e->ino = ino;
		e->client = client;
		e->next = *b;
		*b = e;
	}
	if (e)
		e->count++;
	pthread_mutex_unlock(&m->lock);
}

/* Returns the opens left on ino. */
static uint32_t open_dec(struct mds *m, uint64_t client, uint64_t ino)
{
	pthread_mutex_lock(&m->lock);
	struct open_ent **pp = &m->opens[open_hash(ino)];
	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->ino == ino && (*pp)->client == client) {
			if (--(*pp)->count == 0) {
				struct open_ent *e = *pp;
				*pp = e->next;
				free(e);
			}
			break;
		}
	uint32_t n = open_total(m, ino);
	pthread_mutex_unlock(&m->lock);
	return n;
}

void mds_drop_client_opens(struct mds *m, uint64_t client)
{
	pthread_mutex_lock(&m->lock);
	for (int b = 0; b < OPEN_BUCKETS; b++)
		for (struct open_ent **pp = &m->opens[b]; *pp;) {
			if ((*pp)->client == client) {
				struct open_ent *e = *pp;
				*pp = e->next;
				free(e);
			} else {
				pp = &(*pp)->next;
			}
		}
	pthread_mutex_unlock(&m->lock);
}

static bool is_open(struct mds *m, uint64_t ino)
{
	pthread_mutex_lock(&m->lock);
	bool o = open_total(m, ino) > 0;
	pthread_mutex_unlock(&m->lock);
	return o;
}

/* After the last name of i went away: keep it as an orphan while open. */
static int inode_unlinked(struct mtx *x, struct mds_inode *i)
{
	if (i->a.nlink > 0)
		return inode_put(x, i);
	if (S_ISREG(i->a.mode) && is_open(x->m, i->a.ino)) {
		uint8_t k[8];
		key_u64(k, i->a.ino);
		MDB_val key = { 8, k }, val = { 0, "" };
		int rc = mdb_put(x->t, x->m->db_orphan, &key, &val, 0);
		if (rc)
			return lmdb_err(rc);
		return inode_put(x, i);
	}
	return inode_destroy(x, i);
}

int mds_release_orphan_if_unused(struct mtx *x, uint64_t ino)
{
	struct mds_inode i;
	if (inode_get(x, ino, &i))
		return 0;
	if (i.a.nlink == 0 && !is_open(x->m, ino))
		return inode_destroy(x, &i);
	return 0;
}

int mds_destroy_orphans(struct mtx *x, bool all_unopened)
{
	MDB_cursor *c;
	MDB_val key, val;
	uint64_t inos[256];
	int n = 0;
	if (mdb_cursor_open(x->t, x->m->db_orphan, &c))
		return -EIO;
	for (int rc = mdb_cursor_get(c, &key, &val, MDB_FIRST); rc == 0 && n < 256;
	     rc = mdb_cursor_get(c, &key, &val, MDB_NEXT))
		if (key.mv_size == 8)
			inos[n++] = get_u64(key.mv_data);
	mdb_cursor_close(c);
	for (int i = 0; i < n; i++) {
		int rc = mds_release_orphan_if_unused(x, inos[i]);
		if (rc)
			return rc;
	}
	return 0;
}

int mds_prune_replies(struct mtx *x, int64_t older_than_ms)
{
	MDB_cursor *c;
	MDB_val key, val;
	if (mdb_cursor_open(x->t, x->m->db_reply, &c))
		return -EIO;
	int rc = mdb_cursor_get(c, &key, &val, MDB_FIRST);
	while (rc == 0) {
		if (val.mv_size < 8 || (int64_t)get_u64(val.mv_data) < older_than_ms) {
			if (mdb_cursor_del(c, 0))
				break;
			x->dirty = true;
			rc = mdb_cursor_get(c, &key, &val, MDB_GET_CURRENT);
			if (rc == MDB_NOTFOUND)
				break;
			/* GET_CURRENT after a delete points at the next record. */
			continue;
		}
		rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return 0;
}

static bool ost_up(struct mds *m, uint32_t idx, int64_t now_ms)
{
	return m->osts[idx].registered && now_ms - m->osts[idx].last_seen_ms < m->o.ost_timeout_ms;
}

/* Pick OSTs and object ids for a new file (Lustre's allocator, simplified):
 * round-robin when the OSTs' free space is balanced, weighted by free
 * space when it is not. */
static int alloc_layout(struct mtx *x, const struct sfs_sreq *want, const struct sfs_sreq *dflt,
			uint32_t avoid, struct sfs_layout *l)
{
	struct mds *m = x->m;
	struct mds_inode root;
	int rc = inode_get(x, SFS_ROOT_INO, &root);
	if (rc)
		return rc;
	int32_t count = want->count ? want->count : dflt->count ? dflt->count : root.dflt.count ? root.dflt.count : 1;
	uint32_t size = want->size ? want->size : dflt->size ? dflt->size : root.dflt.size ? root.dflt.size : SFS_DEFAULT_STRIPE_SIZE;
	int32_t start = want->count || want->start >= 0 ? want->start : dflt->count ? dflt->start : -1;

	uint32_t up[MDS_MAX_OSTS];
	uint64_t freeb[MDS_MAX_OSTS];
	uint32_t nup = 0;
	int64_t now = util_mono_ms();
	pthread_mutex_lock(&m->lock);
	for (uint32_t i = 0; i < m->nost; i++)
		if (ost_up(m, i, now) && i != avoid && !m->osts[i].inactive) {
			up[nup] = i;
			freeb[nup++] = m->osts[i].free;
		}
	uint32_t rr = m->rr++;
	pthread_mutex_unlock(&m->lock);
	if (nup == 0)
		return -ENOSPC;
	uint32_t n = count < 0 || (uint32_t)count > nup ? nup : (uint32_t)count;
	if (n > SFS_MAX_STRIPES)
		n = SFS_MAX_STRIPES;
	memset(l, 0, sizeof(*l));
	l->stripe_size = size;
	l->count = n;
	l->gen = 1;

	uint64_t maxf = 0, minf = UINT64_MAX;
	for (uint32_t i = 0; i < nup; i++) {
		if (freeb[i] > maxf)
			maxf = freeb[i];
		if (freeb[i] < minf)
			minf = freeb[i];
	}
	bool balanced = maxf == 0 || (maxf - minf) * 100 <= maxf * (uint64_t)m->o.qos_threshold;
	if (start >= 0) {
		uint32_t first = 0;
		for (uint32_t i = 0; i < nup; i++)
			if (up[i] == (uint32_t)start)
				first = i;
		for (uint32_t s = 0; s < n; s++)
			l->stripes[s].ost = up[(first + s) % nup];
	} else if (balanced || n == nup) {
		for (uint32_t s = 0; s < n; s++)
			l->stripes[s].ost = up[(rr + s) % nup];
	} else {
		/* Weighted choice without replacement: more free space, more likely. */
		bool used[MDS_MAX_OSTS] = { false };
		uint64_t seed = (uint64_t)x->now ^ ((uint64_t)rr << 32);
		for (uint32_t s = 0; s < n; s++) {
			uint64_t total = 0;
			for (uint32_t i = 0; i < nup; i++)
				if (!used[i])
					total += freeb[i] / 4096 + 1;
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			uint64_t pick = (seed >> 11) % total;
			uint32_t i;
			for (i = 0; i < nup; i++) {
				if (used[i])
					continue;
				uint64_t w = freeb[i] / 4096 + 1;
				if (pick < w)
					break;
				pick -= w;
			}
			if (i == nup)
				for (i = 0; used[i]; i++)
					;
			used[i] = true;
			l->stripes[s].ost = up[i];
		}
	}
	for (uint32_t s = 0; s < n; s++)
		l->stripes[s].objid = m->next_objid++;
	return 0; /* not stored: a restart continues from objid_limit (mds.c, the committer) */
}

/* ---- the handlers ---- */

static void touch(struct mtx *x, struct mds_inode *i, bool mtime)
{
	i->a.ctime = x->now;
	if (mtime)
		i->a.mtime = x->now;
}

static int get_dir(struct mtx *x, uint64_t ino, struct mds_inode *d)
{
	int rc = inode_get(x, ino, d);
	if (rc)
		return rc;
	return S_ISDIR(d->a.mode) ? 0 : -ENOTDIR;
}

static int op_lookup(struct mtx *x, struct mreq *r)
{
	struct sfs_name_req *q = &r->in->name_req;
	struct mds_inode d, i;
	uint64_t lease = 0;
	int rc = get_dir(x, q->parent, &d);
	if (rc || (rc = may(&d, &q->cred, 1)))
		return rc;
	if (!strcmp(q->name, ".") || !strcmp(q->name, "..")) {
		rc = inode_get(x, q->name[1] ? d.parent : d.a.ino, &i);
	} else {
		struct dent de;
		if ((rc = mds_lease_dir(x, q->parent, true, &lease)) || (rc = dirent_get(x, q->parent, q->name, &de)))
			return rc;
		rc = inode_get(x, de.ino, &i);
	}
	if (!rc) {
		r->out->attr_rep.attr = i.a;
		r->out->attr_rep.lease = lease ? mds_lease_cover(x, q->parent, i.a.ino) : 0;
	}
	return rc;
}

static int op_getattr(struct mtx *x, struct mreq *r)
{
	struct mds_inode i;
	int rc = inode_get(x, r->in->ino_req.ino, &i);
	if (!rc) {
		r->out->attr_rep.attr = i.a;
		r->out->attr_rep.lease = mds_lease_covering(x, i.a.ino);
	}
	return rc;
}

/* A new inode numbered ino (0: the next free number). */
static int new_inode(struct mtx *x, struct mds_inode *dir, const struct sfs_cred *c, uint32_t mode, uint64_t ino,
		     struct mds_inode *i)
{
	memset(i, 0, sizeof(*i));
	i->a.ino = ino ? ino : x->m->next_ino++;
	i->a.mode = mode;
	i->a.nlink = 1;
	i->a.uid = c->uid;
	i->a.gid = c->gid;
	if (dir->a.mode & S_ISGID) {
		i->a.gid = dir->a.gid;
		if (S_ISDIR(mode))
			i->a.mode |= S_ISGID;
	}
	i->a.atime = i->a.mtime = i->a.ctime = x->now;
	i->a.gen = 1;
	return 0; /* not stored: a restart continues from ino_limit (mds.c, the committer) */
}

/* Common start of every "make a name" op. */
static int prep_create(struct mtx *x, const struct sfs_cred *c, uint64_t parent, const char *name,
		       struct mds_inode *d)
{
	int rc = name_ok(name);
	if (rc)
		return rc == -EINVAL && (!strcmp(name, ".") || !strcmp(name, "..")) ? -EEXIST : rc;
	if ((rc = get_dir(x, parent, d)) || (rc = may(d, c, 3)))
		return rc;
	if (d->a.nlink == 0)
		return -ENOENT; /* a removed directory */
	struct dent de;
	rc = dirent_get(x, parent, name, &de);
	if (rc == 0)
		return -EEXIST;
	return rc == -ENOENT ? 0 : rc;
}

/* May client use inode number ino for a new inode?  0 or -EINVAL. */
static int ino_granted(struct mtx *x, uint64_t client, uint64_t ino)
{
	bool ok = false;
	pthread_mutex_lock(&x->m->lock);
	for (struct session *s = x->m->sessions; s && !ok; s = s->next)
		if (s->client == client)
			for (unsigned k = 0; k < SESSION_RANGES; k++)
				ok |= ino >= s->rstart[k] && ino < s->rend[k];
	pthread_mutex_unlock(&x->m->lock);
	/* A create resent after our restart: its number was granted before
	 * (below where we started), and it must still be free. */
	if (!ok && (ino < 2 || ino >= x->m->boot_next_ino))
		return -EINVAL;
	struct mds_inode *i = malloc(sizeof(*i));
	if (!i)
		return -ENOMEM;
	int rc = inode_get(x, ino, i);
	free(i);
	if (rc == 0)
		return -EINVAL; /* in use: never two inodes with one number */
	return rc == -ENOENT ? 0 : rc;
}

static int op_inorange(struct mtx *x, struct mreq *r)
{
	uint32_t n = r->in->inorange_req.count;
	if (n == 0 || n > 4096)
		return -EINVAL;
	if (r->peer->role != SFS_ROLE_CLIENT || !r->peer->client_id)
		return -EPERM;
	uint64_t start = x->m->next_ino;
	bool kept = false;
	pthread_mutex_lock(&x->m->lock);
	for (struct session *s = x->m->sessions; s; s = s->next)
		if (s->client == r->peer->client_id) {
			unsigned k = s->rnext++ % SESSION_RANGES;
			s->rstart[k] = start;
			s->rend[k] = start + n;
			kept = true;
			break;
		}
	pthread_mutex_unlock(&x->m->lock);
	if (!kept)
		return -EIO;
	x->m->next_ino += n; /* made durable with ino_limit by the committer */
	r->out->inorange_rep.start = start;
	r->out->inorange_rep.count = n;
	return 0;
}

static int op_create(struct mtx *x, struct mreq *r)
{
	struct sfs_create_req *q = &r->in->create_req;
	struct mds_inode d, i;
	uint32_t type = q->mode & S_IFMT;
	if (type == 0)
		type = S_IFREG;
	if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK && type != S_IFCHR && type != S_IFBLK)
		return -EINVAL;
	if ((type == S_IFCHR || type == S_IFBLK) && q->cred.uid != 0)
		return -EPERM;
	int rc = prep_create(x, &q->cred, q->parent, q->name, &d);
	if (rc)
		return rc;
	if (q->ino && x->m->o.fault_refuse_async)
		return -ENOSPC;
	/* An asynchronous create: the number is the client's, from its
	 * INORANGE grant (or, after a restart of ours, from before). */
	if (q->ino && (rc = ino_granted(x, r->peer->client_id, q->ino)))
		return rc;
	if ((rc = new_inode(x, &d, &q->cred, type | (q->mode & 07777), q->ino, &i)))
		return rc;
	if (q->ino && q->time > 0)
		i.a.atime = i.a.mtime = i.a.ctime = q->time;
	i.a.rdev = q->rdev;
	if (type == S_IFREG && (rc = alloc_layout(x, &q->sreq, &d.dflt, SFS_NO_OST, &i.layout)))
		return rc;
	if ((rc = inode_put(x, &i)) || (rc = dirent_add(x, &d, q->name, i.a.ino, i.a.mode)))
		return rc;
	touch(x, &d, true);
	if ((rc = inode_put(x, &d)))
		return rc;
	r->out->create_rep.attr = i.a;
	r->out->create_rep.layout = i.layout;
	r->out->create_rep.pattr = d.a;
	r->out->create_rep.pseq = d.next_seq;
	uint64_t lease = 0;
	if (!mds_lease_dir(x, q->parent, true, &lease) && lease)
		r->out->create_rep.lease = mds_lease_cover(x, q->parent, i.a.ino);
	if (type == S_IFREG && (q->flags & SFS_CREATE_OPEN))
		open_inc(x->m, r->peer->client_id, i.a.ino); /* create + open in one */
	return 0;
}

static int op_mkdir(struct mtx *x, struct mreq *r)
{
	struct sfs_mkdir_req *q = &r->in->mkdir_req;
	struct mds_inode d, i;
	int rc = prep_create(x, &q->cred, q->parent, q->name, &d);
	if (rc || (rc = new_inode(x, &d, &q->cred, S_IFDIR | (q->mode & 07777), 0, &i)))
		return rc;
	i.a.nlink = 2;
	i.parent = d.a.ino;
	i.next_seq = 3;
	i.dflt = d.dflt; /* a subdirectory inherits its parent's default layout */
	if ((rc = inode_put(x, &i)) || (rc = dirent_add(x, &d, q->name, i.a.ino, i.a.mode)))
		return rc;
	d.a.nlink++;
	touch(x, &d, true);
	if ((rc = inode_put(x, &d)))
		return rc;
	r->out->entry_rep.attr = i.a;
	r->out->entry_rep.pattr = d.a;
	r->out->entry_rep.seq = i.next_seq;
	r->out->entry_rep.pseq = d.next_seq;
	return 0;
}

static int op_symlink(struct mtx *x, struct mreq *r)
{
	struct sfs_symlink_req *q = &r->in->symlink_req;
	struct mds_inode d, i;
	if (!q->target[0])
		return -ENOENT;
	int rc = prep_create(x, &q->cred, q->parent, q->name, &d);
	if (rc || (rc = new_inode(x, &d, &q->cred, S_IFLNK | 0777, 0, &i)))
		return rc;
	snprintf(i.target, sizeof(i.target), "%s", q->target);
	i.a.size = strlen(q->target);
	if ((rc = inode_put(x, &i)) || (rc = dirent_add(x, &d, q->name, i.a.ino, i.a.mode)))
		return rc;
	touch(x, &d, true);
	if ((rc = inode_put(x, &d)))
		return rc;
	r->out->entry_rep.attr = i.a;
	r->out->entry_rep.pattr = d.a;
	r->out->entry_rep.pseq = d.next_seq;
	return 0;
}

static int op_readlink(struct mtx *x, struct mreq *r)
{
	struct mds_inode i;
	int rc = inode_get(x, r->in->ino_req.ino, &i);
	if (rc)
		return rc;
	if (!S_ISLNK(i.a.mode))
		return -EINVAL;
	snprintf(r->out->readlink_rep.target, sizeof(r->out->readlink_rep.target), "%s", i.target);
	return 0;
}

static int op_link(struct mtx *x, struct mreq *r)
{
	struct sfs_link_req *q = &r->in->link_req;
	struct mds_inode d, i;
	int rc = inode_get(x, q->ino, &i);
	if (rc)
		return rc;
	if (S_ISDIR(i.a.mode))
		return -EPERM;
	if (i.a.nlink == 0)
		return -ENOENT;
	if (i.a.nlink >= 65000)
		return -EMLINK;
	if ((rc = prep_create(x, &q->cred, q->newparent, q->newname, &d)))
		return rc;
	if ((rc = dirent_add(x, &d, q->newname, i.a.ino, i.a.mode)))
		return rc;
	i.a.nlink++;
	touch(x, &i, false);
	touch(x, &d, true);
	if ((rc = inode_put(x, &i)) || (rc = inode_put(x, &d)))
		return rc;
	r->out->entry_rep.attr = i.a;
	r->out->entry_rep.pattr = d.a;
	r->out->entry_rep.pseq = d.next_seq;
	return 0;
}

/* Sticky directories: only the owner of the entry or of the directory, or root. */
static int sticky_ok(const struct mds_inode *d, const struct mds_inode *i, const struct sfs_cred *c)
{
	if (!(d->a.mode & S_ISVTX) || c->uid == 0 || c->uid == d->a.uid || c->uid == i->a.uid)
		return 0;
	return -EPERM;
}

static int remove_name(struct mtx *x, const struct sfs_cred *c, uint64_t parent, const char *name, bool dir,
		       struct sfs_attr *pattr)
{
	struct mds_inode d, i;
	struct dent de;
	int rc = name_ok(name);
	if (rc)
		return !strcmp(name, ".") ? -EINVAL : !strcmp(name, "..") ? -ENOTEMPTY : rc;
	if ((rc = get_dir(x, parent, &d)) || (rc = may(&d, c, 3)))
		return rc;
	if ((rc = dirent_get(x, parent, name, &de)) || (rc = inode_get(x, de.ino, &i)))
		return rc;
	if ((rc = sticky_ok(&d, &i, c)))
		return rc;
	if (dir) {
		if (!S_ISDIR(i.a.mode))
			return -ENOTDIR;
		if ((rc = dir_empty(x, i.a.ino)))
			return rc;
	} else if (S_ISDIR(i.a.mode)) {
		return -EISDIR;
	}
	if ((rc = dirent_del(x, parent, name)))
		return rc;
	if (dir) {
		d.a.nlink--;
		i.a.nlink = 0;
	} else {
		i.a.nlink--;
	}
	touch(x, &i, false);
	touch(x, &d, true);
	if ((rc = inode_put(x, &d)))
		return rc;
	*pattr = d.a;
	return inode_unlinked(x, &i);
}

static int op_unlink(struct mtx *x, struct mreq *r)
{
	return remove_name(x, &r->in->name_req.cred, r->in->name_req.parent, r->in->name_req.name, false,
			   &r->out->attr_rep.attr);
}

static int op_rmdir(struct mtx *x, struct mreq *r)
{
	return remove_name(x, &r->in->name_req.cred, r->in->name_req.parent, r->in->name_req.name, true,
			   &r->out->attr_rep.attr);
}

/* Is dir `anc` an ancestor of (or equal to) dir `ino`? */
static int is_ancestor(struct mtx *x, uint64_t anc, uint64_t ino)
{
	for (int depth = 0; depth < 4096; depth++) {
		if (ino == anc)
			return 1;
		if (ino == SFS_ROOT_INO)
			return 0;
		struct mds_inode i;
		int rc = inode_get(x, ino, &i);
		if (rc)
			return rc;
		ino = i.parent;
	}
	return -ELOOP;
}

static int op_rename(struct mtx *x, struct mreq *r)
{
	struct sfs_rename_req *q = &r->in->rename_req;
	const struct sfs_cred *c = &q->cred;
	struct mds_inode sd, dd, s, t;
	struct dent se, te;
	int rc;
	if (q->flags & ~(SFS_RENAME_NOREPLACE | SFS_RENAME_EXCHANGE) ||
	    (q->flags & SFS_RENAME_NOREPLACE && q->flags & SFS_RENAME_EXCHANGE))
		return -EINVAL;
	if (name_ok(q->name) || name_ok(q->newname))
		return -EINVAL;
	if ((rc = get_dir(x, q->parent, &sd)) || (rc = may(&sd, c, 3)))
		return rc;
	if ((rc = get_dir(x, q->newparent, &dd)) || (rc = may(&dd, c, 3)))
		return rc;
	if ((rc = dirent_get(x, q->parent, q->name, &se)) || (rc = inode_get(x, se.ino, &s)))
		return rc;
	if ((rc = sticky_ok(&sd, &s, c)))
		return rc;
	bool same_dir = q->parent == q->newparent;
	rc = dirent_get(x, q->newparent, q->newname, &te);
	bool target = rc == 0;
	if (rc && rc != -ENOENT)
		return rc;
	if (target && te.ino == se.ino)
		return 0; /* rename onto a hard link of itself: nothing to do */
	if (target && (rc = inode_get(x, te.ino, &t)))
		return rc;
	if (target && (rc = sticky_ok(&dd, &t, c)))
		return rc;
	if ((q->flags & SFS_RENAME_NOREPLACE) && target)
		return -EEXIST;
	if ((q->flags & SFS_RENAME_EXCHANGE) && !target)
		return -ENOENT;
	/* A directory may not move under itself. */
	if (S_ISDIR(s.a.mode) && !same_dir) {
		rc = is_ancestor(x, s.a.ino, q->newparent);
		if (rc)
			return rc < 0 ? rc : -EINVAL;
	}
	if ((q->flags & SFS_RENAME_EXCHANGE)) {
		if (S_ISDIR(t.a.mode) && !same_dir) {
			rc = is_ancestor(x, t.a.ino, q->parent);
			if (rc)
				return rc < 0 ? rc : -EINVAL;
		}
		if ((rc = dirent_del(x, q->parent, q->name)) || (rc = dirent_del(x, q->newparent, q->newname)))
			return rc;
		if (same_dir) {
			if ((rc = dirent_add(x, &sd, q->name, t.a.ino, t.a.mode)) ||
			    (rc = dirent_add(x, &sd, q->newname, s.a.ino, s.a.mode)))
				return rc;
			touch(x, &sd, true);
			if ((rc = inode_put(x, &sd)))
				return rc;
		} else {
			if ((rc = dirent_add(x, &sd, q->name, t.a.ino, t.a.mode)) ||
			    (rc = dirent_add(x, &dd, q->newname, s.a.ino, s.a.mode)))
				return rc;
			if (S_ISDIR(s.a.mode)) {
				s.parent = dd.a.ino;
				sd.a.nlink--;
				dd.a.nlink++;
			}
			if (S_ISDIR(t.a.mode)) {
				t.parent = sd.a.ino;
				dd.a.nlink--;
				sd.a.nlink++;
			}
			touch(x, &sd, true);
			touch(x, &dd, true);
			if ((rc = inode_put(x, &sd)) || (rc = inode_put(x, &dd)))
				return rc;
		}
		touch(x, &s, false);
		touch(x, &t, false);
		if ((rc = inode_put(x, &s)) || (rc = inode_put(x, &t)))
			return rc;
		return 0;
	}
	if (target) {
		if (S_ISDIR(s.a.mode) && !S_ISDIR(t.a.mode))
			return -ENOTDIR;
		if (!S_ISDIR(s.a.mode) && S_ISDIR(t.a.mode))
			return -EISDIR;
		if (S_ISDIR(t.a.mode) && (rc = dir_empty(x, t.a.ino)))
			return rc;
		if ((rc = dirent_del(x, q->newparent, q->newname)))
			return rc;
		if (S_ISDIR(t.a.mode)) {
			t.a.nlink = 0;
			dd.a.nlink--;
		} else {
			t.a.nlink--;
		}
		touch(x, &t, false);
		if ((rc = inode_unlinked(x, &t)))
			return rc;
	}
	if ((rc = dirent_del(x, q->parent, q->name)))
		return rc;
	if (same_dir) {
		/* sd and dd are the same inode: keep one copy current. */
		sd.a.nlink = dd.a.nlink;
		if ((rc = dirent_add(x, &sd, q->newname, s.a.ino, s.a.mode)))
			return rc;
		touch(x, &sd, true);
		if ((rc = inode_put(x, &sd)))
			return rc;
	} else {
		if ((rc = dirent_add(x, &dd, q->newname, s.a.ino, s.a.mode)))
			return rc;
		if (S_ISDIR(s.a.mode)) {
			s.parent = dd.a.ino;
			sd.a.nlink--;
			dd.a.nlink++;
		}
		touch(x, &sd, true);
		touch(x, &dd, true);
		if ((rc = inode_put(x, &sd)) || (rc = inode_put(x, &dd)))
			return rc;
	}
	touch(x, &s, false);
	return inode_put(x, &s);
}

static int op_setattr(struct mtx *x, struct mreq *r)
{
	struct sfs_setattr_req *q = &r->in->setattr_req;
	const struct sfs_cred *c = &q->cred;
	struct mds_inode i;
	int rc = inode_get(x, q->ino, &i);
	if (rc)
		return rc;
	if (q->valid & SFS_SET_MODE) {
		if (!is_owner(&i, c))
			return -EPERM;
		uint32_t mode = q->mode & 07777;
		if (c->uid != 0 && !in_group(c, i.a.gid))
			mode &= ~(uint32_t)S_ISGID;
		i.a.mode = (i.a.mode & S_IFMT) | mode;
	}
	if (q->valid & (SFS_SET_UID | SFS_SET_GID)) {
		bool uid_change = (q->valid & SFS_SET_UID) && q->uid != i.a.uid;
		bool gid_change = (q->valid & SFS_SET_GID) && q->gid != i.a.gid;
		if (uid_change && c->uid != 0)
			return -EPERM;
		if (gid_change && c->uid != 0 && (c->uid != i.a.uid || !in_group(c, q->gid)))
			return -EPERM;
		if (q->valid & SFS_SET_UID)
			i.a.uid = q->uid;
		if (q->valid & SFS_SET_GID)
			i.a.gid = q->gid;
		if ((uid_change || gid_change) && !S_ISDIR(i.a.mode))
			i.a.mode &= ~(uint32_t)(S_ISUID | ((i.a.mode & 010) ? S_ISGID : 0));
	}
	if (q->valid & SFS_SET_SIZE) {
		if (S_ISDIR(i.a.mode))
			return -EISDIR;
		if (!S_ISREG(i.a.mode))
			return -EINVAL;
		if ((rc = may(&i, c, 2)))
			return rc;
		if (q->size > (1ULL << 62))
			return -EFBIG;
		i.a.size = q->size;
		i.a.mtime = x->now;
		i.a.mode &= ~(uint32_t)S_ISUID;
	}
	if (q->valid & (SFS_SET_ATIME | SFS_SET_MTIME)) {
		bool now_only = (!(q->valid & SFS_SET_ATIME) || q->atime == SFS_TIME_NOW) &&
				(!(q->valid & SFS_SET_MTIME) || q->mtime == SFS_TIME_NOW);
		if (!is_owner(&i, c) && (!now_only || may(&i, c, 2)))
			return now_only ? -EACCES : -EPERM;
		if (q->valid & SFS_SET_ATIME)
			i.a.atime = q->atime == SFS_TIME_NOW ? x->now : q->atime;
		if (q->valid & SFS_SET_MTIME)
			i.a.mtime = q->mtime == SFS_TIME_NOW ? x->now : q->mtime;
	}
	i.a.ctime = x->now;
	if ((rc = inode_put(x, &i)))
		return rc;
	r->out->attr_rep.attr = i.a;
	return 0;
}

static int op_open(struct mtx *x, struct mreq *r)
{
	struct sfs_open_req *q = &r->in->open_req;
	struct mds_inode i;
	int rc = inode_get(x, q->ino, &i);
	if (rc)
		return rc;
	unsigned mask = 0;
	switch (q->flags & 3) {
	case 0: mask = 4; break;
	case 1: mask = 2; break;
	default: mask = 6; break;
	}
	if (q->flags & 01000 /* O_TRUNC */)
		mask |= 2;
	/* A reopen after an MDS restart re-registers a handle the
	 * kernel already holds: no new permission check. */
	if (!(q->flags & SFS_OPEN_REOPEN) && (rc = may(&i, &q->cred, mask)))
		return rc;
	if (S_ISDIR(i.a.mode) && (mask & 2))
		return -EISDIR;
	if (S_ISREG(i.a.mode))
		open_inc(x->m, r->peer->client_id, i.a.ino);
	r->out->attr_layout_rep.attr = i.a;
	r->out->attr_layout_rep.layout = i.layout;
	return 0;
}

static int op_close(struct mtx *x, struct mreq *r)
{
	struct sfs_close_req *q = &r->in->close_req;
	struct mds_inode i;
	int rc = inode_get(x, q->ino, &i);
	if (rc)
		return rc;
	if (q->has_size && q->size > i.a.size) {
		i.a.size = q->size;
		i.a.mtime = q->mtime ? q->mtime : x->now;
		i.a.ctime = i.a.mtime;
		if ((rc = inode_put(x, &i)))
			return rc;
	} else if (q->has_size && q->mtime > i.a.mtime) {
		i.a.mtime = i.a.ctime = q->mtime;
		if ((rc = inode_put(x, &i)))
			return rc;
	}
	if (open_dec(x->m, r->peer->client_id, q->ino) == 0 && i.a.nlink == 0)
		return inode_destroy(x, &i);
	return 0;
}

static int op_setsize(struct mtx *x, struct mreq *r)
{
	struct sfs_setsize_req *q = &r->in->setsize_req;
	struct mds_inode i;
	int rc = inode_get(x, q->ino, &i);
	if (rc)
		return rc;
	if (q->size > (1ULL << 62))
		return -EFBIG;
	if (q->size > i.a.size || q->mtime > i.a.mtime) {
		if (q->size > i.a.size)
			i.a.size = q->size;
		if (q->mtime > i.a.mtime)
			i.a.mtime = i.a.ctime = q->mtime;
		if ((rc = inode_put(x, &i)))
			return rc;
	}
	r->out->attr_rep.attr = i.a;
	return 0;
}

static int op_readdir(struct mtx *x, struct mreq *r)
{
	struct sfs_readdir_req *q = &r->in->readdir_req;
	struct mds_inode d;
	int rc = get_dir(x, q->ino, &d);
	if (rc || (rc = may(&d, &q->cred, 4)) || (rc = mds_lease_dir(x, q->ino, false, NULL)))
		return rc;
	size_t cap = q->maxbytes < r->rbulk_cap ? q->maxbytes : r->rbulk_cap;
	size_t pos = 0;
	uint32_t count = 0;
	uint8_t eof = 0;
	struct sfs_dirent *e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	/* "." and ".." are cookies 1 and 2; entries start at 3. */
	for (uint64_t ck = q->cookie + 1; ck <= 2; ck++) {
		struct mds_inode i;
		memset(e, 0, sizeof(*e));
		if ((rc = inode_get(x, ck == 1 ? d.a.ino : d.parent, &i)))
			goto out;
		e->ino = i.a.ino;
		e->cookie = ck;
		e->mode = i.a.mode;
		snprintf(e->name, sizeof(e->name), "%s", ck == 1 ? "." : "..");
		e->attr = i.a;
		if (sfs_dirent_encode(e, q->plus, r->rbulk, cap, &pos))
			goto full;
		count++;
	}
	MDB_cursor *c;
	uint8_t sk[16];
	key_u64(sk, d.a.ino);
	key_u64(sk + 8, q->cookie < 2 ? 3 : q->cookie + 1);
	MDB_val key = { 16, sk }, val;
	if (mdb_cursor_open(x->t, x->m->db_dirseq, &c)) {
		rc = -EIO;
		goto out;
	}
	int crc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
	for (;; crc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
		if (crc || key.mv_size != 16 || get_u64(key.mv_data) != d.a.ino) {
			eof = 1;
			break;
		}
		if (val.mv_size < 13 || val.mv_size > 12 + SFS_NAME_MAX)
			continue;
		const uint8_t *v = val.mv_data;
		memset(e, 0, sizeof(*e));
		e->ino = get_u64(v);
		e->mode = ((uint32_t)v[8] << 24) | ((uint32_t)v[9] << 16) | ((uint32_t)v[10] << 8) | v[11];
		e->cookie = get_u64((const uint8_t *)key.mv_data + 8);
		memcpy(e->name, v + 12, val.mv_size - 12);
		if (q->plus) {
			struct mds_inode i;
			if (inode_get(x, e->ino, &i))
				continue;
			e->attr = i.a;
		}
		size_t before = pos;
		if (sfs_dirent_encode(e, q->plus, r->rbulk, cap, &pos)) {
			pos = before;
			break;
		}
		count++;
	}
	mdb_cursor_close(c);
full:
	rc = 0;
	if (count == 0 && !eof)
		rc = -EINVAL; /* buffer too small for one entry */
	r->out->readdir_rep.count = count;
	r->out->readdir_rep.eof = eof;
	r->rblen = pos;
out:
	free(e);
	return rc;
}

static int op_statfs(struct mtx *x, struct mreq *r)
{
	struct sfs_statfs_rep *s = &r->out->statfs_rep;
	MDB_stat st;
	uint64_t total = 0, freeb = 0;
	pthread_mutex_lock(&x->m->lock);
	for (uint32_t i = 0; i < x->m->nost; i++)
		if (x->m->osts[i].registered) {
			total += x->m->osts[i].total;
			freeb += x->m->osts[i].free;
			s->nost++;
		}
	pthread_mutex_unlock(&x->m->lock);
	s->bsize = 4096;
	s->blocks = total / 4096;
	s->bfree = s->bavail = freeb / 4096;
	s->files = 1ULL << 32;
	if (mdb_stat(x->t, x->m->db_inode, &st) == 0)
		s->ffree = s->files > st.ms_entries ? s->files - st.ms_entries : 0;
	return 0;
}

static int op_getlayout(struct mtx *x, struct mreq *r)
{
	struct mds_inode i;
	int rc = inode_get(x, r->in->ino_req.ino, &i);
	if (rc)
		return rc;
	r->out->getlayout_rep.layout = i.layout;
	r->out->getlayout_rep.sreq = i.dflt;
	if (S_ISDIR(i.a.mode) && i.dflt.count == 0 && i.a.ino != SFS_ROOT_INO) {
		struct mds_inode root;
		if (!inode_get(x, SFS_ROOT_INO, &root))
			r->out->getlayout_rep.sreq = root.dflt;
	}
	return 0;
}

static int op_setlayout(struct mtx *x, struct mreq *r)
{
	struct sfs_setlayout_req *q = &r->in->setlayout_req;
	struct mds_inode i;
	int rc = inode_get(x, q->ino, &i);
	if (rc)
		return rc;
	if (!is_owner(&i, &q->cred))
		return -EPERM;
	if (S_ISDIR(i.a.mode)) {
		i.dflt = q->sreq;
		touch(x, &i, false);
		return inode_put(x, &i);
	}
	if (!S_ISREG(i.a.mode))
		return -EINVAL;
	if (i.a.size != 0)
		return -EBUSY; /* Lustre too: the layout of a file with data is fixed (use migrate) */
	struct sfs_layout nl;
	struct sfs_sreq none = { 0, 0, -1 };
	struct mds_inode d;
	if (inode_get(x, SFS_ROOT_INO, &d))
		d.dflt = none;
	if ((rc = alloc_layout(x, &q->sreq, &none, SFS_NO_OST, &nl)))
		return rc;
	if ((rc = queue_destroy(x, &i.layout)))
		return rc;
	nl.gen = i.layout.gen + 1;
	i.layout = nl;
	touch(x, &i, false);
	if ((rc = inode_put(x, &i)))
		return rc;
	r->out->layout_rep.layout = i.layout;
	return 0;
}

static int op_alloclayout(struct mtx *x, struct mreq *r)
{
	struct sfs_alloclayout_req *q = &r->in->alloclayout_req;
	struct sfs_sreq none = { 0, 0, -1 };
	if (q->cred.uid != 0)
		return -EPERM;
	return alloc_layout(x, &q->sreq, &none, q->avoid_ost, &r->out->layout_rep.layout);
}

static int op_swaplayout(struct mtx *x, struct mreq *r)
{
	struct sfs_swaplayout_req *q = &r->in->swaplayout_req;
	struct mds_inode i;
	if (q->cred.uid != 0)
		return -EPERM;
	int rc = inode_get(x, q->ino, &i);
	if (rc)
		return rc;
	if (!S_ISREG(i.a.mode))
		return -EINVAL;
	if (i.layout.gen != q->old_gen)
		return -EAGAIN;
	if ((rc = queue_destroy(x, &i.layout)))
		return rc;
	i.layout = q->layout;
	i.layout.gen = q->old_gen + 1;
	touch(x, &i, false);
	return inode_put(x, &i);
}

/* ---- extended attributes ---- */

static int xattr_check(struct mtx *x, const struct sfs_cred *c, struct mds_inode *i, const char *name, bool write)
{
	if (!strncmp(name, "user.", 5)) {
		if (!S_ISREG(i->a.mode) && !S_ISDIR(i->a.mode))
			return write ? -EPERM : -ENODATA;
		return may(i, c, write ? 2 : 4);
	}
	if (!strncmp(name, "trusted.", 8))
		return c->uid == 0 ? 0 : (write ? -EPERM : -ENODATA);
	if (!strncmp(name, "security.", 9))
		return write && c->uid != 0 && !is_owner(i, c) ? -EPERM : 0;
	return -EOPNOTSUPP; /* system.* (ACLs) and unknown namespaces */
}

static size_t xkey(uint8_t *k, uint64_t ino, const char *name)
{
	return dkey(k, ino, name);
}

static int op_getxattr(struct mtx *x, struct mreq *r)
{
	struct sfs_xattr_req *q = &r->in->xattr_req;
	struct mds_inode i;
	int rc = inode_get(x, q->ino, &i);
	if (rc || (rc = xattr_check(x, &q->cred, &i, q->name, false)))
		return rc;
	uint8_t k[8 + SFS_XATTR_NAME_MAX];
	MDB_val key = { xkey(k, q->ino, q->name), k }, val;
	rc = mdb_get(x->t, x->m->db_xattr, &key, &val);
	if (rc == MDB_NOTFOUND)
		return -ENODATA;
	if (rc)
		return -EIO;
	if (val.mv_size > r->rbulk_cap)
		return -ERANGE;
	memcpy(r->rbulk, val.mv_data, val.mv_size);
	r->rblen = val.mv_size;
	return 0;
}

static int op_setxattr(struct mtx *x, struct mreq *r)
{
	struct sfs_xattr_req *q = &r->in->xattr_req;
	struct mds_inode i;
	if (!q->name[0])
		return -EINVAL;
	int rc = inode_get(x, q->ino, &i);
	if (rc || (rc = xattr_check(x, &q->cred, &i, q->name, true)))
		return rc;
	uint8_t k[8 + SFS_XATTR_NAME_MAX];
	MDB_val key = { xkey(k, q->ino, q->name), k }, val;
	bool exists = mdb_get(x->t, x->m->db_xattr, &key, &val) == 0;
	if ((q->flags & SFS_XATTR_CREATE) && exists)
		return -EEXIST;
	if ((q->flags & SFS_XATTR_REPLACE) && !exists)
		return -ENODATA;
	val.mv_size = r->blen;
	val.mv_data = (void *)(r->bulk ? r->bulk : (const uint8_t *)"");
	if ((rc = mdb_put(x->t, x->m->db_xattr, &key, &val, 0)))
		return lmdb_err(rc);
	touch(x, &i, false);
	return inode_put(x, &i);
}

static int op_removexattr(struct mtx *x, struct mreq *r)
{
	struct sfs_xattr_req *q = &r->in->xattr_req;
	struct mds_inode i;
	int rc = inode_get(x, q->ino, &i);
	if (rc || (rc = xattr_check(x, &q->cred, &i, q->name, true)))
		return rc;
	uint8_t k[8 + SFS_XATTR_NAME_MAX];
	MDB_val key = { xkey(k, q->ino, q->name), k };
	rc = mdb_del(x->t, x->m->db_xattr, &key, NULL);
	if (rc == MDB_NOTFOUND)
		return -ENODATA;
	if (rc)
		return -EIO;
	touch(x, &i, false);
	return inode_put(x, &i);
}

static int op_listxattr(struct mtx *x, struct mreq *r)
{
	struct sfs_ino_req *q = &r->in->ino_req;
	struct mds_inode i;
	int rc = inode_get(x, q->ino, &i);
	if (rc)
		return rc;
	MDB_cursor *c;
	uint8_t k[8];
	key_u64(k, q->ino);
	MDB_val key = { 8, k }, val;
	if (mdb_cursor_open(x->t, x->m->db_xattr, &c))
		return -EIO;
	size_t pos = 0;
	for (int crc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
	     crc == 0 && key.mv_size > 8 && get_u64(key.mv_data) == q->ino;
	     crc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
		size_t n = key.mv_size - 8;
		char name[SFS_XATTR_NAME_MAX + 1];
		if (n > SFS_XATTR_NAME_MAX)
			continue;
		memcpy(name, (const uint8_t *)key.mv_data + 8, n);
		name[n] = 0;
		if (!strncmp(name, "trusted.", 8) && q->cred.uid != 0)
			continue;
		if (pos + n + 1 > r->rbulk_cap) {
			rc = -ERANGE;
			break;
		}
		memcpy(r->rbulk + pos, name, n + 1);
		pos += n + 1;
	}
	mdb_cursor_close(c);
	r->rblen = pos;
	return rc;
}

/* ---- OSTs ---- */

static int op_ostlist(struct mtx *x, struct mreq *r)
{
	struct mds *m = x->m;
	size_t pos = 0;
	uint32_t n = 0;
	int64_t now = util_mono_ms();
	pthread_mutex_lock(&m->lock);
	for (uint32_t i = 0; i < m->nost; i++) {
		if (!m->osts[i].registered)
			continue;
		struct sfs_ostinfo o = { .ost = i, .port = m->osts[i].port, .total = m->osts[i].total,
					 .free = m->osts[i].free,
					 .up = ost_up(m, i, now) ? (m->osts[i].inactive ? 2 : 1) : 0 };
		snprintf(o.uuid, sizeof(o.uuid), "%s", m->osts[i].uuid);
		snprintf(o.addr, sizeof(o.addr), "%s", m->osts[i].addr);
		if (sfs_ostinfo_encode(&o, r->rbulk, r->rbulk_cap, &pos))
			break;
		n++;
	}
	pthread_mutex_unlock(&m->lock);
	r->out->count_rep.count = n;
	r->rblen = pos;
	return 0;
}

static int ost_save(struct mtx *x, uint32_t idx, const struct mds_ost *o)
{
	uint8_t k[4] = { (uint8_t)(idx >> 24), (uint8_t)(idx >> 16), (uint8_t)(idx >> 8), (uint8_t)idx };
	uint8_t v[600];
	struct pack_w w;
	pw_init(&w, v, sizeof(v));
	pw_str(&w, o->uuid, SFS_FSNAME_MAX);
	pw_str(&w, o->addr, SFS_ADDR_MAX);
	pw_u32(&w, o->port);
	pw_u64(&w, o->total);
	pw_u64(&w, o->free);
	pw_u8(&w, o->inactive);
	if (w.err)
		return -EINVAL;
	MDB_val key = { 4, k }, val = { w.len, v };
	x->dirty = true;
	return lmdb_err(mdb_put(x->t, x->m->db_ost, &key, &val, 0));
}

static int op_register(struct mtx *x, struct mreq *r)
{
	struct sfs_register_req *q = &r->in->register_req;
	struct mds *m = x->m;
	if (r->peer->role != SFS_ROLE_OSS || r->peer->uid != 0)
		return -EPERM;
	if (!q->uuid[0] || !q->addr[0] || !q->port || q->port > 65535)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	uint32_t idx;
	for (idx = 0; idx < m->nost; idx++)
		if (m->osts[idx].registered && !strcmp(m->osts[idx].uuid, q->uuid))
			break;
	if (idx == m->nost && m->nost == MDS_MAX_OSTS) {
		pthread_mutex_unlock(&m->lock);
		return -ENOSPC;
	}
	bool fresh = idx == m->nost;
	struct mds_ost *o = &m->osts[idx], saved = *o;
	bool changed = fresh || strcmp(o->addr, q->addr) || o->port != q->port;
	o->registered = true;
	snprintf(o->uuid, sizeof(o->uuid), "%s", q->uuid);
	snprintf(o->addr, sizeof(o->addr), "%s", q->addr);
	o->port = q->port;
	o->total = q->total;
	o->free = q->free;
	o->last_seen_ms = util_mono_ms();
	if (fresh)
		m->nost++;
	struct mds_ost copy = *o;
	pthread_mutex_unlock(&m->lock);
	int rc = changed ? ost_save(x, idx, &copy) : 0;
	if (rc) {
		pthread_mutex_lock(&m->lock);
		*o = saved;
		if (fresh)
			m->nost--;
		pthread_mutex_unlock(&m->lock);
		return rc;
	}
	if (changed)
		log_info("OST %u (%s) at %s:%u %s", idx, q->uuid, q->addr, q->port, fresh ? "added" : "moved");
	r->out->register_rep.ost = idx;
	return 0;
}

static int op_heartbeat(struct mtx *x, struct mreq *r)
{
	struct sfs_heartbeat_req *q = &r->in->heartbeat_req;
	struct mds *m = x->m;
	if (r->peer->role != SFS_ROLE_OSS || r->peer->uid != 0)
		return -EPERM;
	pthread_mutex_lock(&m->lock);
	if (q->ost >= m->nost || !m->osts[q->ost].registered) {
		pthread_mutex_unlock(&m->lock);
		return -ESTALE;
	}
	m->osts[q->ost].total = q->total;
	m->osts[q->ost].free = q->free;
	m->osts[q->ost].last_seen_ms = util_mono_ms();
	pthread_mutex_unlock(&m->lock);
	/* Forget acknowledged destroys, then list the next ones. */
	MDB_cursor *c;
	uint8_t k[12] = { (uint8_t)(q->ost >> 24), (uint8_t)(q->ost >> 16), (uint8_t)(q->ost >> 8), (uint8_t)q->ost };
	key_u64(k + 4, 0);
	MDB_val key = { 12, k }, val;
	if (mdb_cursor_open(x->t, m->db_destroy, &c))
		return -EIO;
	int crc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
	size_t pos = 0;
	uint32_t n = 0;
	while (crc == 0 && key.mv_size == 12 && !memcmp(key.mv_data, k, 4) && val.mv_size == 8) {
		uint64_t seq = get_u64((const uint8_t *)key.mv_data + 4);
		if (seq <= q->ack) {
			if (mdb_cursor_del(c, 0))
				break;
			x->dirty = true;
			crc = mdb_cursor_get(c, &key, &val, MDB_GET_CURRENT);
			continue;
		}
		struct sfs_destroy_item d = { seq, get_u64(val.mv_data) };
		if (n >= 2000 || sfs_destroy_encode(&d, r->rbulk, r->rbulk_cap, &pos))
			break;
		n++;
		crc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(c);
	r->out->count_rep.count = n;
	r->rblen = pos;
	return 0;
}

/* Does any file (or open orphan) still have an object on OST idx? */
static int ost_in_use(struct mtx *x, uint32_t idx, uint64_t *ino_out)
{
	MDB_cursor *c;
	MDB_val key, val;
	struct mds_inode *i = malloc(sizeof(*i));
	if (!i)
		return -ENOMEM;
	if (mdb_cursor_open(x->t, x->m->db_inode, &c)) {
		free(i);
		return -EIO;
	}
	int rc = 0, crc;
	for (crc = mdb_cursor_get(c, &key, &val, MDB_FIRST); crc == 0 && rc == 0;
	     crc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
		if (key.mv_size != 8 || inode_get(x, get_u64(key.mv_data), i))
			continue;
		if ((i->a.mode & S_IFMT) != S_IFREG)
			continue;
		for (uint32_t s = 0; s < i->layout.count && s < SFS_MAX_STRIPES; s++)
			if (i->layout.stripes[s].ost == idx) {
				*ino_out = i->a.ino;
				rc = 1;
				break;
			}
	}
	mdb_cursor_close(c);
	free(i);
	return rc;
}

static int op_oststate(struct mtx *x, struct mreq *r)
{
	struct sfs_oststate_req *q = &r->in->oststate_req;
	struct mds *m = x->m;
	if (r->peer->role != SFS_ROLE_ADMIN || r->peer->uid != 0)
		return -EPERM;
	if (q->state > SFS_OST_SET_REMOVE)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	bool known = q->ost < m->nost && m->osts[q->ost].registered;
	struct mds_ost copy = known ? m->osts[q->ost] : (struct mds_ost){ 0 };
	pthread_mutex_unlock(&m->lock);
	if (!known)
		return -ENOENT;
	int rc;
	if (q->state == SFS_OST_SET_REMOVE) {
		uint64_t ino = 0;
		if ((rc = ost_in_use(x, q->ost, &ino)) < 0)
			return rc;
		if (rc) {
			log_warn("OST %u (%s) not removed: file inode %" PRIu64 " still has an object on it; "
				 "drain it with 'sfs migrate --ost %u'", q->ost, copy.uuid, ino, q->ost);
			return -EBUSY;
		}
		uint8_t k[4] = { (uint8_t)(q->ost >> 24), (uint8_t)(q->ost >> 16), (uint8_t)(q->ost >> 8),
				 (uint8_t)q->ost };
		MDB_val key = { 4, k };
		rc = mdb_del(x->t, m->db_ost, &key, NULL);
		if (rc && rc != MDB_NOTFOUND)
			return -EIO;
		/* Its pending destroys go with it: the objects go with its disk. */
		MDB_cursor *c;
		uint8_t dk[12] = { k[0], k[1], k[2], k[3] };
		key_u64(dk + 4, 0);
		MDB_val dkey = { 12, dk }, val;
		if (mdb_cursor_open(x->t, m->db_destroy, &c))
			return -EIO;
		int crc = mdb_cursor_get(c, &dkey, &val, MDB_SET_RANGE);
		while (crc == 0 && dkey.mv_size == 12 && !memcmp(dkey.mv_data, k, 4)) {
			if (mdb_cursor_del(c, 0))
				break;
			crc = mdb_cursor_get(c, &dkey, &val, MDB_GET_CURRENT);
		}
		mdb_cursor_close(c);
		x->dirty = true;
		pthread_mutex_lock(&m->lock);
		memset(&m->osts[q->ost], 0, sizeof(m->osts[q->ost]));
		pthread_mutex_unlock(&m->lock);
		log_info("OST %u (%s) at %s:%u removed", q->ost, copy.uuid, copy.addr, copy.port);
		return 0;
	}
	copy.inactive = q->state == SFS_OST_SET_INACTIVE;
	if ((rc = ost_save(x, q->ost, &copy)))
		return rc;
	pthread_mutex_lock(&m->lock);
	m->osts[q->ost].inactive = copy.inactive;
	pthread_mutex_unlock(&m->lock);
	log_info("OST %u (%s) %s", q->ost, copy.uuid, copy.inactive ? "inactive: no new objects go there"
								     : "active again");
	return 0;
}

static int op_release(struct mtx *x, struct mreq *r)
{
	mds_lease_release(x, r->in->lease_msg.dir, r->in->lease_msg.lease);
	return 0;
}

int mds_handle(struct mtx *x, struct mreq *r)
{
	/* Requests that act for a user carry a credential: fix it first. */
	switch (r->op) {
	case SFS_CLTOMD_LOOKUP: case SFS_CLTOMD_UNLINK: case SFS_CLTOMD_RMDIR:
		mds_fix_cred(x->m, r->peer, &r->in->name_req.cred);
		break;
	default:
		break;
	}
	switch (r->op) {
	case SFS_CLTOMD_GETATTR: case SFS_CLTOMD_READLINK: case SFS_CLTOMD_GETLAYOUT:
	case SFS_CLTOMD_LISTXATTR:
		mds_fix_cred(x->m, r->peer, &r->in->ino_req.cred);
		break;
	case SFS_CLTOMD_SETATTR: mds_fix_cred(x->m, r->peer, &r->in->setattr_req.cred); break;
	case SFS_CLTOMD_CREATE: mds_fix_cred(x->m, r->peer, &r->in->create_req.cred); break;
	case SFS_CLTOMD_MKDIR: mds_fix_cred(x->m, r->peer, &r->in->mkdir_req.cred); break;
	case SFS_CLTOMD_RENAME: mds_fix_cred(x->m, r->peer, &r->in->rename_req.cred); break;
	case SFS_CLTOMD_LINK: mds_fix_cred(x->m, r->peer, &r->in->link_req.cred); break;
	case SFS_CLTOMD_SYMLINK: mds_fix_cred(x->m, r->peer, &r->in->symlink_req.cred); break;
	case SFS_CLTOMD_READDIR: mds_fix_cred(x->m, r->peer, &r->in->readdir_req.cred); break;
	case SFS_CLTOMD_STATFS: mds_fix_cred(x->m, r->peer, &r->in->cred_req.cred); break;
	case SFS_CLTOMD_OPEN: mds_fix_cred(x->m, r->peer, &r->in->open_req.cred); break;
	case SFS_CLTOMD_CLOSE: mds_fix_cred(x->m, r->peer, &r->in->close_req.cred); break;
	case SFS_CLTOMD_SETSIZE: mds_fix_cred(x->m, r->peer, &r->in->setsize_req.cred); break;
	case SFS_CLTOMD_SETLAYOUT: mds_fix_cred(x->m, r->peer, &r->in->setlayout_req.cred); break;
	case SFS_CLTOMD_GETXATTR: case SFS_CLTOMD_SETXATTR: case SFS_CLTOMD_REMOVEXATTR:
		mds_fix_cred(x->m, r->peer, &r->in->xattr_req.cred);
		break;
	case SFS_CLTOMD_ALLOCLAYOUT: mds_fix_cred(x->m, r->peer, &r->in->alloclayout_req.cred); break;
	case SFS_CLTOMD_SWAPLAYOUT: mds_fix_cred(x->m, r->peer, &r->in->swaplayout_req.cred); break;
	default: break;
	}
	switch (r->op) {
	case SFS_CLTOMD_LOOKUP: return op_lookup(x, r);
	case SFS_CLTOMD_GETATTR: return op_getattr(x, r);
	case SFS_CLTOMD_SETATTR: return op_setattr(x, r);
	case SFS_CLTOMD_CREATE: return op_create(x, r);
	case SFS_CLTOMD_MKDIR: return op_mkdir(x, r);
	case SFS_CLTOMD_UNLINK: return op_unlink(x, r);
	case SFS_CLTOMD_RMDIR: return op_rmdir(x, r);
	case SFS_CLTOMD_RENAME: return op_rename(x, r);
	case SFS_CLTOMD_LINK: return op_link(x, r);
	case SFS_CLTOMD_SYMLINK: return op_symlink(x, r);
	case SFS_CLTOMD_READLINK: return op_readlink(x, r);
	case SFS_CLTOMD_READDIR: return op_readdir(x, r);
	case SFS_CLTOMD_STATFS: return op_statfs(x, r);
	case SFS_CLTOMD_OPEN: return op_open(x, r);
	case SFS_CLTOMD_CLOSE: return op_close(x, r);
	case SFS_CLTOMD_SETSIZE: return op_setsize(x, r);
	case SFS_CLTOMD_GETLAYOUT: return op_getlayout(x, r);
	case SFS_CLTOMD_SETLAYOUT: return op_setlayout(x, r);
	case SFS_CLTOMD_GETXATTR: return op_getxattr(x, r);
	case SFS_CLTOMD_SETXATTR: return op_setxattr(x, r);
	case SFS_CLTOMD_LISTXATTR: return op_listxattr(x, r);
	case SFS_CLTOMD_REMOVEXATTR: return op_removexattr(x, r);
	case SFS_CLTOMD_ALLOCLAYOUT: return op_alloclayout(x, r);
	case SFS_CLTOMD_SWAPLAYOUT: return op_swaplayout(x, r);
	case SFS_CLTOMD_OSTLIST: return op_ostlist(x, r);
	case SFS_CLTOMD_OSTSTATE: return op_oststate(x, r);
	case SFS_CLTOMD_RELEASE: return op_release(x, r);
	case SFS_CLTOMD_INORANGE: return op_inorange(x, r);
	case SFS_OSTOMD_REGISTER: return op_register(x, r);
	case SFS_OSTOMD_HEARTBEAT: return op_heartbeat(x, r);
	default: return -ENOSYS;
	}
}
