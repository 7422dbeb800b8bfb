/*
 * sfs_proto.c: the codec of sfs_proto.h.  Each message is described once by
 * a table of fields (type and place in its struct); one encoder and one
 * decoder walk those tables, so every message is packed field by field and
 * checked the same way, and the fuzz target reaches every decoder.
 */
#include "proto/sfs_proto.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "common/util.h"
#include "proto/sfs_pack.h"

enum ftype { F_END = 0, F_U8, F_U32, F_U64, F_I32, F_I64, F_STR, F_CRED, F_ATTR, F_LAYOUT, F_SREQ };

struct field {
	uint8_t type;
	uint16_t off;
	uint16_t max; /* strings: capacity - 1 */
};

#define FX(T, ty, f) { ty, offsetof(T, f), 0 }
#define FSTR(T, f) { F_STR, offsetof(T, f), sizeof(((T *)0)->f) - 1 }
#define FEND { F_END, 0, 0 }

/* ---- composite types ---- */

static void put_cred(struct pack_w *w, const struct sfs_cred *c)
{
	pw_u32(w, c->uid);
	pw_u32(w, c->gid);
	uint32_t n = c->ngroups > SFS_MAX_GROUPS ? SFS_MAX_GROUPS : c->ngroups;
	pw_u8(w, (uint8_t)n);
	for (uint32_t i = 0; i < n; i++)
		pw_u32(w, c->groups[i]);
}

static void get_cred(struct pack_r *r, struct sfs_cred *c)
{
	c->uid = pr_u32(r);
	c->gid = pr_u32(r);
	c->ngroups = pr_u8(r);
	if (c->ngroups > SFS_MAX_GROUPS) {
		r->err = -EPROTO;
		return;
	}
	for (uint32_t i = 0; i < c->ngroups; i++)
		c->groups[i] = pr_u32(r);
}

static void put_attr(struct pack_w *w, const struct sfs_attr *a)
{
	pw_u64(w, a->ino);
	pw_u32(w, a->mode);
	pw_u32(w, a->nlink);
	pw_u32(w, a->uid);
	pw_u32(w, a->gid);
	pw_u32(w, a->rdev);
	pw_u64(w, a->size);
	pw_u64(w, a->blocks);
	pw_u64(w, (uint64_t)a->atime);
	pw_u64(w, (uint64_t)a->mtime);
	pw_u64(w, (uint64_t)a->ctime);
	pw_u64(w, a->gen);
}

static void get_attr(struct pack_r *r, struct sfs_attr *a)
{
	a->ino = pr_u64(r);
	a->mode = pr_u32(r);
	a->nlink = pr_u32(r);
	a->uid = pr_u32(r);
	a->gid = pr_u32(r);
	a->rdev = pr_u32(r);
	a->size = pr_u64(r);
	a->blocks = pr_u64(r);
	a->atime = (int64_t)pr_u64(r);
	a->mtime = (int64_t)pr_u64(r);
	a->ctime = (int64_t)pr_u64(r);
	a->gen = pr_u64(r);
	/* Sizes past 2^62 cannot come from us and would overflow off_t maths. */
	if (a->size > (1ULL << 62))
		r->err = -EPROTO;
}

int sfs_layout_valid(const struct sfs_layout *l)
{
	if (l->count > SFS_MAX_STRIPES)
		return -EINVAL;
	if (l->count == 0)
		return 0;
	if (l->stripe_size < SFS_MIN_STRIPE_SIZE || l->stripe_size > SFS_MAX_STRIPE_SIZE ||
	    l->stripe_size % SFS_MIN_STRIPE_SIZE)
		return -EINVAL;
	for (uint32_t i = 0; i < l->count; i++)
		if (l->stripes[i].ost == SFS_NO_OST)
			return -EINVAL;
	return 0;
}

static void put_layout(struct pack_w *w, const struct sfs_layout *l)
{
	if (sfs_layout_valid(l)) {
		w->err = -EINVAL;
		return;
	}
	pw_u32(w, l->stripe_size);
	pw_u32(w, l->count);
	pw_u64(w, l->gen);
	for (uint32_t i = 0; i < l->count; i++) {
		pw_u32(w, l->stripes[i].ost);
		pw_u64(w, l->stripes[i].objid);
	}
}

static void get_layout(struct pack_r *r, struct sfs_layout *l)
{
	l->stripe_size = pr_u32(r);
	l->count = pr_u32(r);
	l->gen = pr_u64(r);
	if (r->err || l->count > SFS_MAX_STRIPES) {
		r->err = -EPROTO;
		return;
	}
	for (uint32_t i = 0; i < l->count; i++) {
		l->stripes[i].ost = pr_u32(r);
		l->stripes[i].objid = pr_u64(r);
	}
	if (!r->err && sfs_layout_valid(l))
		r->err = -EPROTO;
}

static void put_sreq(struct pack_w *w, const struct sfs_sreq *s)
{
	pw_u32(w, (uint32_t)s->count);
	pw_u32(w, s->size);
	pw_u32(w, (uint32_t)s->start);
}

static void get_sreq(struct pack_r *r, struct sfs_sreq *s)
{
	s->count = (int32_t)pr_u32(r);
	s->size = pr_u32(r);
	s->start = (int32_t)pr_u32(r);
	if (s->count < -1 || s->count > SFS_MAX_STRIPES || s->start < -1 ||
	    (s->size && (s->size < SFS_MIN_STRIPE_SIZE || s->size > SFS_MAX_STRIPE_SIZE ||
			 s->size % SFS_MIN_STRIPE_SIZE)))
		r->err = -EPROTO;
}

/* ---- message tables ---- */

static const struct field f_empty[] = { FEND };

static const struct field f_hello_req[] = {
	FX(struct sfs_hello_req, F_U8, role), FX(struct sfs_hello_req, F_U64, client_id),
	FSTR(struct sfs_hello_req, cred), FX(struct sfs_hello_req, F_U32, flags), FEND
};
static const struct field f_hello_rep[] = {
	FX(struct sfs_hello_rep, F_U64, session), FSTR(struct sfs_hello_rep, fsname),
	FX(struct sfs_hello_rep, F_U32, uid), FX(struct sfs_hello_rep, F_U32, gid),
	FX(struct sfs_hello_rep, F_U32, flags), FEND
};
static const struct field f_name_req[] = {
	FX(struct sfs_name_req, F_CRED, cred), FX(struct sfs_name_req, F_U64, parent),
	FSTR(struct sfs_name_req, name), FEND
};
static const struct field f_ino_req[] = {
	FX(struct sfs_ino_req, F_CRED, cred), FX(struct sfs_ino_req, F_U64, ino), FEND
};
static const struct field f_attr_rep[] = { FX(struct sfs_attr_rep, F_ATTR, attr), FX(struct sfs_attr_rep, F_U64, lease), FEND };
static const struct field f_setattr_req[] = {
	FX(struct sfs_setattr_req, F_CRED, cred), FX(struct sfs_setattr_req, F_U64, ino),
	FX(struct sfs_setattr_req, F_U32, valid), FX(struct sfs_setattr_req, F_U32, mode),
	FX(struct sfs_setattr_req, F_U32, uid), FX(struct sfs_setattr_req, F_U32, gid),
	FX(struct sfs_setattr_req, F_U64, size), FX(struct sfs_setattr_req, F_I64, atime),
	FX(struct sfs_setattr_req, F_I64, mtime), FEND
};
static const struct field f_create_req[] = {
	FX(struct sfs_create_req, F_CRED, cred), FX(struct sfs_create_req, F_U64, parent),
	FSTR(struct sfs_create_req, name), FX(struct sfs_create_req, F_U32, mode),
	FX(struct sfs_create_req, F_U32, rdev), FX(struct sfs_create_req, F_U32, flags),
	FX(struct sfs_create_req, F_SREQ, sreq), FX(struct sfs_create_req, F_U64, ino),
	FX(struct sfs_create_req, F_I64, time), FEND
};
static const struct field f_create_rep[] = {
	FX(struct sfs_create_rep, F_ATTR, attr), FX(struct sfs_create_rep, F_LAYOUT, layout),
	FX(struct sfs_create_rep, F_ATTR, pattr), FX(struct sfs_create_rep, F_U64, pseq),
	FX(struct sfs_create_rep, F_U64, lease), FEND
};
static const struct field f_entry_rep[] = {
	FX(struct sfs_entry_rep, F_ATTR, attr), FX(struct sfs_entry_rep, F_ATTR, pattr),
	FX(struct sfs_entry_rep, F_U64, seq), FX(struct sfs_entry_rep, F_U64, pseq), FEND
};
static const struct field f_attr_layout_rep[] = {
	FX(struct sfs_attr_layout_rep, F_ATTR, attr), FX(struct sfs_attr_layout_rep, F_LAYOUT, layout), FEND
};
static const struct field f_mkdir_req[] = {
	FX(struct sfs_mkdir_req, F_CRED, cred), FX(struct sfs_mkdir_req, F_U64, parent),
	FSTR(struct sfs_mkdir_req, name), FX(struct sfs_mkdir_req, F_U32, mode), FEND
};
static const struct field f_rename_req[] = {
	FX(struct sfs_rename_req, F_CRED, cred), FX(struct sfs_rename_req, F_U64, parent),
	FSTR(struct sfs_rename_req, name), FX(struct sfs_rename_req, F_U64, newparent),
	FSTR(struct sfs_rename_req, newname), FX(struct sfs_rename_req, F_U32, flags), FEND
};
static const struct field f_link_req[] = {
	FX(struct sfs_link_req, F_CRED, cred), FX(struct sfs_link_req, F_U64, ino),
	FX(struct sfs_link_req, F_U64, newparent), FSTR(struct sfs_link_req, newname), FEND
};
static const struct field f_symlink_req[] = {
	FX(struct sfs_symlink_req, F_CRED, cred), FX(struct sfs_symlink_req, F_U64, parent),
	FSTR(struct sfs_symlink_req, name), FSTR(struct sfs_symlink_req, target), FEND
};
static const struct field f_readlink_rep[] = { FSTR(struct sfs_readlink_rep, target), FEND };
static const struct field f_readdir_req[] = {
	FX(struct sfs_readdir_req, F_CRED, cred), FX(struct sfs_readdir_req, F_U64, ino),
	FX(struct sfs_readdir_req, F_U64, cookie), FX(struct sfs_readdir_req, F_U32, maxbytes),
	FX(struct sfs_readdir_req, F_U8, plus), FEND
};
static const struct field f_readdir_rep[] = {
	FX(struct sfs_readdir_rep, F_U32, count), FX(struct sfs_readdir_rep, F_U8, eof), FEND
};
static const struct field f_cred_req[] = { FX(struct sfs_cred_req, F_CRED, cred), FEND };
static const struct field f_statfs_rep[] = {
	FX(struct sfs_statfs_rep, F_U32, bsize), FX(struct sfs_statfs_rep, F_U64, blocks),
	FX(struct sfs_statfs_rep, F_U64, bfree), FX(struct sfs_statfs_rep, F_U64, bavail),
	FX(struct sfs_statfs_rep, F_U64, files), FX(struct sfs_statfs_rep, F_U64, ffree),
	FX(struct sfs_statfs_rep, F_U32, nost), FEND
};
static const struct field f_open_req[] = {
	FX(struct sfs_open_req, F_CRED, cred), FX(struct sfs_open_req, F_U64, ino),
	FX(struct sfs_open_req, F_U32, flags), FEND
};
static const struct field f_close_req[] = {
	FX(struct sfs_close_req, F_CRED, cred), FX(struct sfs_close_req, F_U64, ino),
	FX(struct sfs_close_req, F_U64, size), FX(struct sfs_close_req, F_I64, mtime),
	FX(struct sfs_close_req, F_U8, has_size), FEND
};
static const struct field f_setsize_req[] = {
	FX(struct sfs_setsize_req, F_CRED, cred), FX(struct sfs_setsize_req, F_U64, ino),
	FX(struct sfs_setsize_req, F_U64, size), FX(struct sfs_setsize_req, F_I64, mtime),
	FX(struct sfs_setsize_req, F_U32, flags), FEND
};
static const struct field f_getlayout_rep[] = {
	FX(struct sfs_getlayout_rep, F_LAYOUT, layout), FX(struct sfs_getlayout_rep, F_SREQ, sreq), FEND
};
static const struct field f_setlayout_req[] = {
	FX(struct sfs_setlayout_req, F_CRED, cred), FX(struct sfs_setlayout_req, F_U64, ino),
	FX(struct sfs_setlayout_req, F_SREQ, sreq), FEND
};
static const struct field f_layout_rep[] = { FX(struct sfs_layout_rep, F_LAYOUT, layout), FEND };
static const struct field f_xattr_req[] = {
	FX(struct sfs_xattr_req, F_CRED, cred), FX(struct sfs_xattr_req, F_U64, ino),
	FSTR(struct sfs_xattr_req, name), FX(struct sfs_xattr_req, F_U32, flags), FEND
};
static const struct field f_alloclayout_req[] = {
	FX(struct sfs_alloclayout_req, F_CRED, cred), FX(struct sfs_alloclayout_req, F_SREQ, sreq),
	FX(struct sfs_alloclayout_req, F_U32, avoid_ost), FEND
};
static const struct field f_swaplayout_req[] = {
	FX(struct sfs_swaplayout_req, F_CRED, cred), FX(struct sfs_swaplayout_req, F_U64, ino),
	FX(struct sfs_swaplayout_req, F_U64, old_gen), FX(struct sfs_swaplayout_req, F_LAYOUT, layout), FEND
};
static const struct field f_count_rep[] = { FX(struct sfs_count_rep, F_U32, count), FEND };
static const struct field f_register_req[] = {
	FSTR(struct sfs_register_req, uuid), FSTR(struct sfs_register_req, addr),
	FX(struct sfs_register_req, F_U32, port), FX(struct sfs_register_req, F_U64, total),
	FX(struct sfs_register_req, F_U64, free), FEND
};
static const struct field f_register_rep[] = { FX(struct sfs_register_rep, F_U32, ost), FEND };
static const struct field f_oststate_req[] = {
	FX(struct sfs_oststate_req, F_U32, ost), FX(struct sfs_oststate_req, F_U32, state), FEND
};
static const struct field f_inorange_req[] = { FX(struct sfs_inorange_req, F_U32, count), FEND };
static const struct field f_inorange_rep[] = {
	FX(struct sfs_inorange_rep, F_U64, start), FX(struct sfs_inorange_rep, F_U32, count), FEND
};
static const struct field f_lease_msg[] = {
	FX(struct sfs_lease_msg, F_U64, dir), FX(struct sfs_lease_msg, F_U64, lease), FEND
};

static const struct field f_heartbeat_req[] = {
	FX(struct sfs_heartbeat_req, F_U32, ost), FX(struct sfs_heartbeat_req, F_U64, total),
	FX(struct sfs_heartbeat_req, F_U64, free), FX(struct sfs_heartbeat_req, F_U64, ack), FEND
};
static const struct field f_obj_write_req[] = {
	FX(struct sfs_obj_write_req, F_U32, ost), FX(struct sfs_obj_write_req, F_U64, objid),
	FX(struct sfs_obj_write_req, F_U64, offset), FX(struct sfs_obj_write_req, F_U8, sync), FEND
};
static const struct field f_obj_write_rep[] = { FX(struct sfs_obj_write_rep, F_U32, written), FEND };
static const struct field f_obj_read_req[] = {
	FX(struct sfs_obj_read_req, F_U32, ost), FX(struct sfs_obj_read_req, F_U64, objid),
	FX(struct sfs_obj_read_req, F_U64, offset), FX(struct sfs_obj_read_req, F_U32, len), FEND
};
static const struct field f_obj_punch_req[] = {
	FX(struct sfs_obj_punch_req, F_U32, ost), FX(struct sfs_obj_punch_req, F_U64, objid),
	FX(struct sfs_obj_punch_req, F_U64, size), FEND
};
static const struct field f_obj_req[] = {
	FX(struct sfs_obj_req, F_U32, ost), FX(struct sfs_obj_req, F_U64, objid), FEND
};
static const struct field f_obj_stat_rep[] = {
	FX(struct sfs_obj_stat_rep, F_U64, size), FX(struct sfs_obj_stat_rep, F_U64, blocks), FEND
};
static const struct field f_ost_req[] = { FX(struct sfs_ost_req, F_U32, ost), FEND };
static const struct field f_ost_statfs_rep[] = {
	FX(struct sfs_ost_statfs_rep, F_U64, total), FX(struct sfs_ost_statfs_rep, F_U64, free), FEND
};

struct opdesc {
	struct sfs_opinfo info;
	const struct field *req, *rep;
};

#define OP(code, rq, rqf, rp, rpf, rqb, rpb, mut) \
	{ { code, #code, sizeof(rq), sizeof(rp), rqb, rpb, mut }, rqf, rpf }

static const struct opdesc ops[] = {
	OP(SFS_HELLO, struct sfs_hello_req, f_hello_req, struct sfs_hello_rep, f_hello_rep, 0, 0, false),
	OP(SFS_CLTOMD_LOOKUP, struct sfs_name_req, f_name_req, struct sfs_attr_rep, f_attr_rep, 0, 0, false),
	OP(SFS_CLTOMD_GETATTR, struct sfs_ino_req, f_ino_req, struct sfs_attr_rep, f_attr_rep, 0, 0, false),
	OP(SFS_CLTOMD_SETATTR, struct sfs_setattr_req, f_setattr_req, struct sfs_attr_rep, f_attr_rep, 0, 0, true),
	OP(SFS_CLTOMD_CREATE, struct sfs_create_req, f_create_req, struct sfs_create_rep, f_create_rep, 0, 0, true),
	OP(SFS_CLTOMD_MKDIR, struct sfs_mkdir_req, f_mkdir_req, struct sfs_entry_rep, f_entry_rep, 0, 0, true),
	OP(SFS_CLTOMD_UNLINK, struct sfs_name_req, f_name_req, struct sfs_attr_rep, f_attr_rep, 0, 0, true),
	OP(SFS_CLTOMD_RMDIR, struct sfs_name_req, f_name_req, struct sfs_attr_rep, f_attr_rep, 0, 0, true),
	OP(SFS_CLTOMD_RENAME, struct sfs_rename_req, f_rename_req, struct sfs_empty, f_empty, 0, 0, true),
	OP(SFS_CLTOMD_LINK, struct sfs_link_req, f_link_req, struct sfs_entry_rep, f_entry_rep, 0, 0, true),
	OP(SFS_CLTOMD_SYMLINK, struct sfs_symlink_req, f_symlink_req, struct sfs_entry_rep, f_entry_rep, 0, 0, true),
	OP(SFS_CLTOMD_READLINK, struct sfs_ino_req, f_ino_req, struct sfs_readlink_rep, f_readlink_rep, 0, 0, false),
	OP(SFS_CLTOMD_READDIR, struct sfs_readdir_req, f_readdir_req, struct sfs_readdir_rep, f_readdir_rep, 0, SFS_READDIR_MAX, false),
	OP(SFS_CLTOMD_STATFS, struct sfs_cred_req, f_cred_req, struct sfs_statfs_rep, f_statfs_rep, 0, 0, false),
	OP(SFS_CLTOMD_OPEN, struct sfs_open_req, f_open_req, struct sfs_attr_layout_rep, f_attr_layout_rep, 0, 0, true),
	OP(SFS_CLTOMD_CLOSE, struct sfs_close_req, f_close_req, struct sfs_empty, f_empty, 0, 0, true),
	OP(SFS_CLTOMD_SETSIZE, struct sfs_setsize_req, f_setsize_req, struct sfs_attr_rep, f_attr_rep, 0, 0, true),
	OP(SFS_CLTOMD_GETLAYOUT, struct sfs_ino_req, f_ino_req, struct sfs_getlayout_rep, f_getlayout_rep, 0, 0, false),
	OP(SFS_CLTOMD_SETLAYOUT, struct sfs_setlayout_req, f_setlayout_req, struct sfs_layout_rep, f_layout_rep, 0, 0, true),
	OP(SFS_CLTOMD_GETXATTR, struct sfs_xattr_req, f_xattr_req, struct sfs_empty, f_empty, 0, SFS_XATTR_SIZE_MAX, false),
	OP(SFS_CLTOMD_SETXATTR, struct sfs_xattr_req, f_xattr_req, struct sfs_empty, f_empty, SFS_XATTR_SIZE_MAX, 0, true),
	OP(SFS_CLTOMD_LISTXATTR, struct sfs_ino_req, f_ino_req, struct sfs_empty, f_empty, 0, SFS_XATTR_SIZE_MAX, false),
	OP(SFS_CLTOMD_REMOVEXATTR, struct sfs_xattr_req, f_xattr_req, struct sfs_empty, f_empty, 0, 0, true),
	OP(SFS_CLTOMD_ALLOCLAYOUT, struct sfs_alloclayout_req, f_alloclayout_req, struct sfs_layout_rep, f_layout_rep, 0, 0, true),
	OP(SFS_CLTOMD_SWAPLAYOUT, struct sfs_swaplayout_req, f_swaplayout_req, struct sfs_empty, f_empty, 0, 0, true),
	OP(SFS_CLTOMD_OSTLIST, struct sfs_empty, f_empty, struct sfs_count_rep, f_count_rep, 0, 64 * 1024, false),
	OP(SFS_CLTOMD_OSTSTATE, struct sfs_oststate_req, f_oststate_req, struct sfs_empty, f_empty, 0, 0, true),
	OP(SFS_CLTOMD_RELEASE, struct sfs_lease_msg, f_lease_msg, struct sfs_empty, f_empty, 0, 0, true),
	OP(SFS_CLTOMD_INORANGE, struct sfs_inorange_req, f_inorange_req, struct sfs_inorange_rep, f_inorange_rep, 0, 0, true),
	/* One-way: the "request" is what the MDS sends; there is no reply. */
	OP(SFS_MDTOCL_RECALL, struct sfs_lease_msg, f_lease_msg, struct sfs_empty, f_empty, 0, 0, false),
	OP(SFS_OSTOMD_REGISTER, struct sfs_register_req, f_register_req, struct sfs_register_rep, f_register_rep, 0, 0, true),
	OP(SFS_OSTOMD_HEARTBEAT, struct sfs_heartbeat_req, f_heartbeat_req, struct sfs_count_rep, f_count_rep, 0, 64 * 1024, true),
	OP(SFS_CLTOOS_WRITE, struct sfs_obj_write_req, f_obj_write_req, struct sfs_obj_write_rep, f_obj_write_rep, SFS_MAX_IO, 0, false),
	OP(SFS_CLTOOS_READ, struct sfs_obj_read_req, f_obj_read_req, struct sfs_count_rep, f_count_rep, 0, SFS_MAX_IO, false),
	OP(SFS_CLTOOS_PUNCH, struct sfs_obj_punch_req, f_obj_punch_req, struct sfs_empty, f_empty, 0, 0, false),
	OP(SFS_CLTOOS_SYNC, struct sfs_obj_req, f_obj_req, struct sfs_empty, f_empty, 0, 0, false),
	OP(SFS_CLTOOS_DESTROY, struct sfs_obj_req, f_obj_req, struct sfs_empty, f_empty, 0, 0, false),
	OP(SFS_CLTOOS_STAT, struct sfs_obj_req, f_obj_req, struct sfs_obj_stat_rep, f_obj_stat_rep, 0, 0, false),
	OP(SFS_CLTOOS_STATFS, struct sfs_ost_req, f_ost_req, struct sfs_ost_statfs_rep, f_ost_statfs_rep, 0, 0, false),
};

static const struct opdesc *find_op(uint16_t op)
{
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (ops[i].info.op == op)
			return &ops[i];
	return NULL;
}

const struct sfs_opinfo *sfs_op_info(uint16_t op)
{
	const struct opdesc *d = find_op(op);
	return d ? &d->info : NULL;
}

const char *sfs_op_name(uint16_t op)
{
	const struct opdesc *d = find_op(op);
	return d ? d->info.name + 4 : "UNKNOWN"; /* without "SFS_" */
}

int sfs_encode(uint16_t op, bool reply, const void *msg, uint8_t *out, size_t cap)
{
	const struct opdesc *d = find_op(op);
	if (!d)
		return -EINVAL;
	const struct field *f = reply ? d->rep : d->req;
	const char *base = msg;
	struct pack_w w;
	pw_init(&w, out, cap > SFS_MAX_PAYLOAD ? SFS_MAX_PAYLOAD : cap);
	for (; f->type != F_END; f++) {
		const void *p = base + f->off;
		switch (f->type) {
		case F_U8: pw_u8(&w, *(const uint8_t *)p); break;
		case F_U32: pw_u32(&w, *(const uint32_t *)p); break;
		case F_I32: pw_u32(&w, (uint32_t) * (const int32_t *)p); break;
		case F_U64: pw_u64(&w, *(const uint64_t *)p); break;
		case F_I64: pw_u64(&w, (uint64_t) * (const int64_t *)p); break;
		case F_STR: pw_str(&w, p, f->max); break;
		case F_CRED: put_cred(&w, p); break;
		case F_ATTR: put_attr(&w, p); break;
		case F_LAYOUT: put_layout(&w, p); break;
		case F_SREQ: put_sreq(&w, p); break;
		default: return -EINVAL;
		}
	}
	return w.err ? w.err : (int)w.len;
}

int sfs_decode(uint16_t op, bool reply, const uint8_t *in, size_t len, void *msg)
{
	const struct opdesc *d = find_op(op);
	if (!d || len > SFS_MAX_PAYLOAD)
		return -EPROTO;
	const struct field *f = reply ? d->rep : d->req;
	memset(msg, 0, reply ? d->info.rep_size : d->info.req_size);
	char *base = msg;
	struct pack_r r;
	pr_init(&r, in, len);
	for (; f->type != F_END && !r.err; f++) {
		void *p = base + f->off;
		switch (f->type) {
		case F_U8: *(uint8_t *)p = pr_u8(&r); break;
		case F_U32: *(uint32_t *)p = pr_u32(&r); break;
		case F_I32: *(int32_t *)p = (int32_t)pr_u32(&r); break;
		case F_U64: *(uint64_t *)p = pr_u64(&r); break;
		case F_I64: *(int64_t *)p = (int64_t)pr_u64(&r); break;
		case F_STR: pr_str(&r, p, f->max); break;
		case F_CRED: get_cred(&r, p); break;
		case F_ATTR: get_attr(&r, p); break;
		case F_LAYOUT: get_layout(&r, p); break;
		case F_SREQ: get_sreq(&r, p); break;
		default: return -EPROTO;
		}
	}
	if (r.err)
		return -EPROTO;
	if (r.pos != len) /* trailing bytes: the peer and we disagree on the message */
		return -EPROTO;
	return 0;
}

/* ---- header ---- */

void sfs_hdr_encode(const struct sfs_hdr *h, uint8_t out[SFS_HDR_LEN])
{
	struct pack_w w;
	pw_init(&w, out, SFS_HDR_LEN);
	pw_u32(&w, SFS_MAGIC);
	pw_u8(&w, SFS_VERSION);
	pw_u8(&w, h->flags);
	pw_u16(&w, h->op);
	pw_u64(&w, h->reqid);
	pw_u32(&w, (uint32_t)h->status);
	pw_u32(&w, h->plen);
	pw_u32(&w, h->blen);
}

int sfs_hdr_decode(const uint8_t in[SFS_HDR_LEN], struct sfs_hdr *h)
{
	struct pack_r r;
	pr_init(&r, in, SFS_HDR_LEN);
	uint32_t magic = pr_u32(&r);
	h->version = pr_u8(&r);
	h->flags = pr_u8(&r);
	h->op = pr_u16(&r);
	h->reqid = pr_u64(&r);
	h->status = (int32_t)pr_u32(&r);
	h->plen = pr_u32(&r);
	h->blen = pr_u32(&r);
	if (r.err || magic != SFS_MAGIC || h->version != SFS_VERSION || (h->flags & ~(SFS_FLAG_REPLY | SFS_FLAG_ASYNC)))
		return -EPROTO;
	const struct opdesc *d = find_op(h->op);
	if (!d)
		return -EPROTO;
	if (h->plen > SFS_MAX_PAYLOAD)
		return -EPROTO;
	uint32_t maxbulk = (h->flags & SFS_FLAG_REPLY) ? d->info.rep_bulk : d->info.req_bulk;
	if (h->blen > maxbulk)
		return -EPROTO;
	if ((h->flags & SFS_FLAG_REPLY) && h->status != 0 && (h->plen || h->blen))
		return -EPROTO;
	return 0;
}

/* ---- bulk records ---- */

static int finish_w(struct pack_w *w, size_t *pos)
{
	if (w->err)
		return w->err;
	*pos += w->len;
	return 0;
}

int sfs_dirent_encode(const struct sfs_dirent *d, bool plus, uint8_t *out, size_t cap, size_t *pos)
{
	struct pack_w w;
	if (*pos > cap)
		return -ENOBUFS;
	pw_init(&w, out + *pos, cap - *pos);
	pw_u64(&w, d->ino);
	pw_u64(&w, d->cookie);
	pw_u32(&w, d->mode);
	pw_str(&w, d->name, SFS_NAME_MAX);
	if (plus)
		put_attr(&w, &d->attr);
	return finish_w(&w, pos);
}

int sfs_dirent_decode(struct sfs_dirent *d, bool plus, const uint8_t *in, size_t len, size_t *pos)
{
	struct pack_r r;
	if (*pos > len)
		return -EPROTO;
	memset(d, 0, sizeof(*d));
	pr_init(&r, in + *pos, len - *pos);
	d->ino = pr_u64(&r);
	d->cookie = pr_u64(&r);
	d->mode = pr_u32(&r);
	pr_str(&r, d->name, SFS_NAME_MAX);
	if (plus)
		get_attr(&r, &d->attr);
	if (!r.err && (!d->name[0] || strchr(d->name, '/')))
		r.err = -EPROTO;
	if (r.err)
		return -EPROTO;
	*pos += r.pos;
	return 0;
}

int sfs_ostinfo_encode(const struct sfs_ostinfo *o, uint8_t *out, size_t cap, size_t *pos)
{
	struct pack_w w;
	if (*pos > cap)
		return -ENOBUFS;
	pw_init(&w, out + *pos, cap - *pos);
	pw_u32(&w, o->ost);
	pw_str(&w, o->uuid, SFS_FSNAME_MAX);
	pw_str(&w, o->addr, SFS_ADDR_MAX);
	pw_u32(&w, o->port);
	pw_u64(&w, o->total);
	pw_u64(&w, o->free);
	pw_u8(&w, o->up);
	return finish_w(&w, pos);
}

int sfs_ostinfo_decode(struct sfs_ostinfo *o, const uint8_t *in, size_t len, size_t *pos)
{
	struct pack_r r;
	if (*pos > len)
		return -EPROTO;
	memset(o, 0, sizeof(*o));
	pr_init(&r, in + *pos, len - *pos);
	o->ost = pr_u32(&r);
	pr_str(&r, o->uuid, SFS_FSNAME_MAX);
	pr_str(&r, o->addr, SFS_ADDR_MAX);
	o->port = pr_u32(&r);
	o->total = pr_u64(&r);
	o->free = pr_u64(&r);
	o->up = pr_u8(&r);
	if (!r.err && (o->port > 65535 || o->ost == SFS_NO_OST || o->up > 2))
		r.err = -EPROTO;
	if (r.err)
		return -EPROTO;
	*pos += r.pos;
	return 0;
}

int sfs_destroy_encode(const struct sfs_destroy_item *d, uint8_t *out, size_t cap, size_t *pos)
{
	struct pack_w w;
	if (*pos > cap)
		return -ENOBUFS;
	pw_init(&w, out + *pos, cap - *pos);
	pw_u64(&w, d->seq);
	pw_u64(&w, d->objid);
	return finish_w(&w, pos);
}

int sfs_destroy_decode(struct sfs_destroy_item *d, const uint8_t *in, size_t len, size_t *pos)
{
	struct pack_r r;
	if (*pos > len)
		return -EPROTO;
	pr_init(&r, in + *pos, len - *pos);
	d->seq = pr_u64(&r);
	d->objid = pr_u64(&r);
	if (r.err)
		return -EPROTO;
	*pos += r.pos;
	return 0;
}

/* ---- status <-> errno: the only place they meet ---- */

static const struct { int32_t status; int err; } status_map[] = {
	{ SFS_S_PERM, EPERM }, { SFS_S_NOENT, ENOENT }, { SFS_S_IO, EIO }, { SFS_S_ACCES, EACCES },
	{ SFS_S_EXIST, EEXIST }, { SFS_S_NOTDIR, ENOTDIR }, { SFS_S_ISDIR, EISDIR },
	{ SFS_S_INVAL, EINVAL }, { SFS_S_FBIG, EFBIG }, { SFS_S_NOSPC, ENOSPC }, { SFS_S_ROFS, EROFS },
	{ SFS_S_MLINK, EMLINK }, { SFS_S_NAMETOOLONG, ENAMETOOLONG }, { SFS_S_NOTEMPTY, ENOTEMPTY },
	{ SFS_S_NODATA, ENODATA }, { SFS_S_RANGE, ERANGE }, { SFS_S_XDEV, EXDEV }, { SFS_S_AGAIN, EAGAIN },
	{ SFS_S_NOSYS, ENOSYS }, { SFS_S_PROTO, EPROTO }, { SFS_S_STALE, ESTALE }, { SFS_S_E2BIG, E2BIG },
	{ SFS_S_NOTSUP, EOPNOTSUPP }, { SFS_S_BUSY, EBUSY }, { SFS_S_NOMEM, ENOMEM },
	{ SFS_S_TIMEDOUT, ETIMEDOUT }, { SFS_S_LOOP, ELOOP }, { SFS_S_BADF, EBADF },
	{ SFS_S_OVERFLOW, EOVERFLOW }, { SFS_S_DQUOT, EDQUOT },
};

int sfs_status_to_errno(int32_t status)
{
	if (status == SFS_S_OK)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(status_map); i++)
		if (status_map[i].status == status)
			return status_map[i].err;
	return EIO;
}

int32_t sfs_status_from_errno(int err)
{
	if (err < 0)
		err = -err;
	if (err == 0)
		return SFS_S_OK;
	for (size_t i = 0; i < ARRAY_SIZE(status_map); i++)
		if (status_map[i].err == err)
			return status_map[i].status;
	return SFS_S_IO;
}
