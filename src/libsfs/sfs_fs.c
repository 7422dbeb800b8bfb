/*
 * sfs_fs.c: the file-system client object of sfs_fs.h.
 */
#include "libsfs/sfs_fs.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "libsfs/sfs_layout.h"

#define MAX_OSTS 256
#define MAX_CONNS 8
#define MAX_MDS_CONNS 8
#define MAX_EXT 80

struct ost_slot {
	struct sfs_fs *fs;
	uint32_t idx;
	char addr[SFS_ADDR_MAX + 1];
	int port;
	struct sfs_conn *conns[MAX_CONNS];
	atomic_uint next;
};

struct sfs_fs {
	struct sfs_fs_opts o;
	char *mds_host;
	char *munge_socket;
	struct sfs_conn *mds;
	struct sfs_conn *mdsx[MAX_MDS_CONNS]; /* mdsx[0] == mds */
	int nmds;
	atomic_uint mds_next;
	uint64_t client_id;
	pthread_mutex_t lock;        /* guards slots[] creation and addresses */
	struct ost_slot *slots[MAX_OSTS];
	int64_t last_refresh_ms;
};

struct sfs_conn *sfs_fs_mds(struct sfs_fs *fs)
{
	return fs->mds;
}

struct sfs_conn *sfs_fs_mds_any(struct sfs_fs *fs)
{
	if (fs->nmds <= 1)
		return fs->mds;
	return fs->mdsx[atomic_fetch_add(&fs->mds_next, 1) % (unsigned)fs->nmds];
}

const char *sfs_fs_name(struct sfs_fs *fs)
{
	return sfs_conn_fsname(fs->mds);
}

int sfs_fs_ostlist(struct sfs_fs *fs, struct sfs_ostinfo **out, uint32_t *n)
{
	size_t cap = 64 * 1024;
	uint8_t *bulk = malloc(cap);
	struct sfs_empty q = { 0 };
	struct sfs_count_rep r;
	if (!bulk)
		return -ENOMEM;
	struct sfs_call call = { .op = SFS_CLTOMD_OSTLIST, .req = &q, .rep = &r, .bulk_in = bulk, .bulk_in_cap = cap };
	int rc = sfs_call_run(fs->mds, &call);
	if (rc) {
		free(bulk);
		return rc;
	}
	struct sfs_ostinfo *v = calloc(r.count ? r.count : 1, sizeof(*v));
	if (!v) {
		free(bulk);
		return -ENOMEM;
	}
	size_t pos = 0;
	for (uint32_t i = 0; i < r.count; i++)
		if (sfs_ostinfo_decode(&v[i], bulk, call.bulk_in_len, &pos)) {
			free(v);
			free(bulk);
			return -EPROTO;
		}
	free(bulk);
	*out = v;
	*n = r.count;
	return 0;
}

/* Refresh every known OST's address from the MDS (at most every 500 ms). */
static void refresh_addresses(struct sfs_fs *fs, bool force)
{
	pthread_mutex_lock(&fs->lock);
	int64_t now = util_mono_ms();
	if (!force && now - fs->last_refresh_ms < 500) {
		pthread_mutex_unlock(&fs->lock);
		return;
	}
	fs->last_refresh_ms = now;
	pthread_mutex_unlock(&fs->lock);
	struct sfs_ostinfo *v;
	uint32_t n;
	if (sfs_fs_ostlist(fs, &v, &n))
		return;
	pthread_mutex_lock(&fs->lock);
	for (uint32_t i = 0; i < n; i++) {
		if (v[i].ost >= MAX_OSTS)
			continue;
		struct ost_slot *s = fs->slots[v[i].ost];
		if (!s) {
			s = calloc(1, sizeof(*s));
			if (!s)
				continue;
			s->fs = fs;
			s->idx = v[i].ost;
			fs->slots[v[i].ost] = s;
		}
		snprintf(s->addr, sizeof(s->addr), "%s", v[i].addr);
		s->port = (int)v[i].port;
	}
	pthread_mutex_unlock(&fs->lock);
	free(v);
}

/* Called by an OST connection before it reconnects: the OSS may have moved. */
static int resolve_ost(void *arg, char **host, int *port)
{
	struct ost_slot *s = arg;
	refresh_addresses(s->fs, false);
	pthread_mutex_lock(&s->fs->lock);
	if (strcmp(*host, s->addr) || *port != s->port) {
		char *h = strdup(s->addr);
		if (h) {
			free(*host);
			*host = h;
			*port = s->port;
		}
	}
	pthread_mutex_unlock(&s->fs->lock);
	return 0;
}

static struct sfs_conn *ost_conn(struct sfs_fs *fs, uint32_t idx, int *err)
{
	if (idx >= MAX_OSTS) {
		*err = -EIO;
		return NULL;
	}
	pthread_mutex_lock(&fs->lock);
	struct ost_slot *s = fs->slots[idx];
	bool known = s && s->port;
	pthread_mutex_unlock(&fs->lock);
	if (!known) {
		refresh_addresses(fs, true);
		pthread_mutex_lock(&fs->lock);
		s = fs->slots[idx];
		known = s && s->port;
		pthread_mutex_unlock(&fs->lock);
		if (!known) {
			log_warn("OST %u is not known to the MDS; is its OSS registered?", idx);
			*err = -EIO;
			return NULL;
		}
	}
	unsigned k = atomic_fetch_add(&s->next, 1) % (unsigned)fs->o.conns_per_ost;
	pthread_mutex_lock(&fs->lock);
	struct sfs_conn *c = s->conns[k];
	if (!c) {
		char errbuf[256];
		/* If another connection to this OSS finds it down, this one
		 * counts the timeout from the same moment. */
		int64_t down = 0;
		for (int j = 0; j < MAX_CONNS; j++) {
			int64_t d = s->conns[j] ? sfs_conn_down_since(s->conns[j]) : 0;
			if (d && (!down || d < down))
				down = d;
		}
		struct sfs_conn_opts co = { .host = s->addr, .port = s->port, .munge_socket = fs->munge_socket,
					    .client_id = fs->client_id, .role = fs->o.role,
					    .timeout_ms = fs->o.timeout_ms, .resolve = resolve_ost, .resolve_arg = s,
					    .down_since = down };
		/* Lazy: an OSS that is down now may come back within the timeout. */
		c = s->conns[k] = sfs_conn_open(&co, true, errbuf, sizeof(errbuf));
		if (!c)
			log_warn("cannot connect to OST %u: %s", idx, errbuf);
	}
	pthread_mutex_unlock(&fs->lock);
	if (!c)
		*err = -EIO;
	return c;
}

struct sfs_fs *sfs_fs_open(const struct sfs_fs_opts *o, char *errbuf, size_t errlen)
{
	struct sfs_fs *fs = calloc(1, sizeof(*fs));
	if (!fs) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	fs->o = *o;
	fs->mds_host = strdup(o->mds_host);
	fs->munge_socket = o->munge_socket ? strdup(o->munge_socket) : NULL;
	fs->o.mds_host = fs->mds_host;
	fs->o.munge_socket = fs->munge_socket;
	if (fs->o.conns_per_ost < 1)
		fs->o.conns_per_ost = 1;
	if (fs->o.conns_per_ost > MAX_CONNS)
		fs->o.conns_per_ost = MAX_CONNS;
	if (fs->o.timeout_ms <= 0)
		fs->o.timeout_ms = 100000;
	fs->client_id = sfs_random_id();
	pthread_mutex_init(&fs->lock, NULL);
	struct sfs_conn_opts co = { .host = fs->mds_host, .port = o->mds_port, .munge_socket = fs->munge_socket,
				    .client_id = fs->client_id, .role = o->role, .timeout_ms = fs->o.timeout_ms,
				    .notify = o->notify, .notify_arg = o->notify_arg };
	fs->mds = sfs_conn_open(&co, false, errbuf, errlen);
	if (!fs->mds) {
		free(fs->mds_host);
		free(fs->munge_socket);
		free(fs);
		return NULL;
	}
	fs->mdsx[0] = fs->mds;
	fs->nmds = 1;
	int want = o->mds_conns < 1 ? 1 : o->mds_conns > MAX_MDS_CONNS ? MAX_MDS_CONNS : o->mds_conns;
	while (fs->nmds < want) {
		/* The first one is up: the others come up the same way (lazy:
		 * one that fails now keeps trying, like the first after a
		 * restart of the MDS). */
		char eb[256];
		struct sfs_conn *c = sfs_conn_open(&co, true, eb, sizeof(eb));
		if (!c)
			break;
		fs->mdsx[fs->nmds++] = c;
	}
	return fs;
}

void sfs_fs_close(struct sfs_fs *fs)
{
	if (!fs)
		return;
	for (int i = 0; i < MAX_OSTS; i++) {
		struct ost_slot *s = fs->slots[i];
		if (!s)
			continue;
		for (int k = 0; k < MAX_CONNS; k++)
			sfs_conn_close(s->conns[k]);
		free(s);
	}
	for (int i = 1; i < fs->nmds; i++)
		sfs_conn_close(fs->mdsx[i]);
	sfs_conn_close(fs->mds);
	free(fs->mds_host);
	free(fs->munge_socket);
	free(fs);
}

/* One batch of object requests, all in flight together. */
struct batch {
	struct sfs_call call[MAX_EXT];
	struct sfs_conn *conn[MAX_EXT];
	union {
		struct sfs_obj_write_req w;
		struct sfs_obj_read_req r;
		struct sfs_obj_punch_req p;
		struct sfs_obj_req o;
	} req[MAX_EXT];
	union {
		struct sfs_obj_write_rep w;
		struct sfs_count_rep r;
		struct sfs_obj_stat_rep s;
	} rep[MAX_EXT];
	int n;
};

static int batch_wait(struct batch *b)
{
	int rc = 0;
	for (int i = 0; i < b->n; i++) {
		if (!b->conn[i])
			continue;
		int r = sfs_call_wait(b->conn[i], &b->call[i]);
		if (r && !rc)
			rc = r;
	}
	return rc;
}

static int do_io(struct sfs_fs *fs, const struct sfs_layout *l, void *buf, size_t len, uint64_t off,
		 bool write, bool sync, bool pinned)
{
	if (!l->count)
		return len ? -EIO : 0;
	struct batch *b = malloc(sizeof(*b));
	struct sfs_extent *ext = malloc(sizeof(*ext) * MAX_EXT);
	int rc = 0;
	if (!b || !ext) {
		free(b);
		free(ext);
		return -ENOMEM;
	}
	size_t done = 0;
	while (done < len && !rc) {
		/* A window small enough that its extents fit one batch and each
		 * extent fits one request. */
		size_t win = len - done;
		if (win > (size_t)SFS_MAX_IO * 16)
			win = (size_t)SFS_MAX_IO * 16;
		int n = sfs_layout_extents(l, off + done, win, ext, MAX_EXT);
		while (n < 0 && win > SFS_MIN_STRIPE_SIZE) {
			win /= 2;
			n = sfs_layout_extents(l, off + done, win, ext, MAX_EXT);
		}
		if (n < 0) {
			rc = -EIO;
			break;
		}
		/* Extents longer than one request are cut further. */
		int k = 0;
		size_t covered = 0;
		b->n = 0;
		for (int i = 0; i < n && k < MAX_EXT; i++) {
			uint64_t eoff = 0;
			while (eoff < ext[i].len && k < MAX_EXT) {
				uint32_t piece = ext[i].len - (uint32_t)eoff;
				if (piece > SFS_MAX_IO)
					piece = SFS_MAX_IO;
				const struct sfs_stripe *st = &l->stripes[ext[i].stripe];
				char *p = (char *)buf + (ext[i].file_off - off) + eoff;
				struct sfs_call *c = &b->call[k];
				memset(c, 0, sizeof(*c));
				if (write) {
					b->req[k].w = (struct sfs_obj_write_req){ st->ost, st->objid, ext[i].obj_off + eoff, sync };
					c->op = SFS_CLTOOS_WRITE;
					c->bulk_out = p;
					c->bulk_out_len = piece;
					c->bulk_out_pinned = pinned;
				} else {
					b->req[k].r = (struct sfs_obj_read_req){ st->ost, st->objid, ext[i].obj_off + eoff, piece };
					c->op = SFS_CLTOOS_READ;
					c->bulk_in = p;
					c->bulk_in_cap = piece;
				}
				c->req = &b->req[k];
				c->rep = &b->rep[k];
				int err = 0;
				b->conn[k] = ost_conn(fs, st->ost, &err);
				if (b->conn[k])
					sfs_call_start(b->conn[k], c);
				else if (!rc)
					rc = err;
				k++;
				b->n = k;
				eoff += piece;
				covered += piece;
			}
		}
		int wrc = batch_wait(b);
		if (!rc)
			rc = wrc;
		if (!rc && !write)
			for (int i = 0; i < b->n; i++)
				if (b->call[i].bulk_in_len < b->call[i].bulk_in_cap)
					memset((char *)b->call[i].bulk_in + b->call[i].bulk_in_len, 0,
					       b->call[i].bulk_in_cap - b->call[i].bulk_in_len);
		if (!rc && write)
			for (int i = 0; i < b->n; i++)
				if (b->rep[i].w.written != b->call[i].bulk_out_len)
					rc = -EIO;
		done += covered;
	}
	free(b);
	free(ext);
	return rc;
}

int sfs_fs_write(struct sfs_fs *fs, const struct sfs_layout *l, const void *buf, size_t len,
		 uint64_t off, bool sync)
{
	return do_io(fs, l, (void *)buf, len, off, true, sync, false);
}

int sfs_fs_write_pinned(struct sfs_fs *fs, const struct sfs_layout *l, const void *buf, size_t len,
			uint64_t off)
{
	return do_io(fs, l, (void *)buf, len, off, true, false, true);
}

int sfs_fs_read(struct sfs_fs *fs, const struct sfs_layout *l, void *buf, size_t len, uint64_t off)
{
	return do_io(fs, l, buf, len, off, false, false, false);
}

/* Run one object request per stripe, all at once. */
static int per_object(struct sfs_fs *fs, const struct sfs_layout *l, uint16_t op, uint64_t size)
{
	struct batch *b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	int rc = 0;
	b->n = 0;
	for (uint32_t i = 0; i < l->count && i < MAX_EXT; i++) {
		struct sfs_call *c = &b->call[i];
		memset(c, 0, sizeof(*c));
		c->op = op;
		if (op == SFS_CLTOOS_PUNCH)
			b->req[i].p = (struct sfs_obj_punch_req){ l->stripes[i].ost, l->stripes[i].objid,
								  sfs_layout_obj_size(l, i, size) };
		else
			b->req[i].o = (struct sfs_obj_req){ l->stripes[i].ost, l->stripes[i].objid };
		c->req = &b->req[i];
		c->rep = NULL;
		int err = 0;
		b->conn[i] = ost_conn(fs, l->stripes[i].ost, &err);
		if (b->conn[i])
			sfs_call_start(b->conn[i], c);
		else if (!rc)
			rc = err;
		b->n = (int)i + 1;
	}
	int wrc = batch_wait(b);
	free(b);
	return rc ? rc : wrc;
}

int sfs_fs_punch(struct sfs_fs *fs, const struct sfs_layout *l, uint64_t size)
{
	return per_object(fs, l, SFS_CLTOOS_PUNCH, size);
}

int sfs_fs_sync(struct sfs_fs *fs, const struct sfs_layout *l)
{
	return per_object(fs, l, SFS_CLTOOS_SYNC, 0);
}

int sfs_fs_objstat(struct sfs_fs *fs, const struct sfs_stripe *s, uint64_t *size)
{
	int err = 0;
	struct sfs_conn *c = ost_conn(fs, s->ost, &err);
	if (!c)
		return err;
	struct sfs_obj_req q = { s->ost, s->objid };
	struct sfs_obj_stat_rep r;
	int rc = sfs_rpc(c, SFS_CLTOOS_STAT, &q, &r);
	if (!rc)
		*size = r.size;
	return rc;
}
