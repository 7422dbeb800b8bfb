/*
 * sfs_proto.h: the StratusFS wire protocol.  This one header defines every
 * message that clients, sfs-mds and sfs-oss exchange.
 *
 * A frame is a fixed 28-byte header, a payload of typed fields packed one by
 * one in network byte order (never a struct laid over a buffer), then bulk
 * bytes (object data, directory entries, xattr values, lists):
 *
 *   magic:32 ('SFS1') version:8 flags:8 op:16 reqid:64 status:32 plen:32 blen:32
 *
 * flags bit 0 marks a reply.  A reply carries the request's op and reqid; its
 * status is a wire status (SFS_S_*), translated to errno only by
 * sfs_status_to_errno().  When status != 0 the reply payload is empty.
 * Requests are answered in any order, so a connection carries many in flight;
 * reqid is chosen by the client, unique per client (client id from HELLO)
 * for its whole life, so a server can recognise a retried request.
 *
 * Field notation below: name:bits for integers, name:STR for a string
 * (len:16 then the bytes, no NUL), attr / layout / sreq / cred for the
 * composite types defined further down.  Every decoder checks each length
 * against the limits here and rejects trailing bytes: a peer that lies is
 * dropped by the caller.
 */
#ifndef STRATUS_SFS_PROTO_H
#define STRATUS_SFS_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SFS_MAGIC        0x53465331u /* "SFS1" */
#define SFS_VERSION      1
#define SFS_HDR_LEN      28
#define SFS_FLAG_REPLY   0x01
#define SFS_FLAG_ASYNC   0x02         /* request: the client answered it already (never waits for a lease) */

#define SFS_DEFAULT_PORT 9800
#define SFS_NAME_MAX     255          /* one path component */
#define SFS_PATH_MAX     4095         /* symlink targets */
#define SFS_FSNAME_MAX   63
#define SFS_CRED_MAX     2048         /* a MUNGE credential as text */
#define SFS_ADDR_MAX     255
#define SFS_XATTR_NAME_MAX 255
#define SFS_XATTR_SIZE_MAX 65536
#define SFS_MAX_GROUPS   16
#define SFS_MAX_STRIPES  64
#define SFS_MAX_IO       (1u << 20)   /* largest object read or write in one request */
#define SFS_MAX_PAYLOAD  8192         /* largest payload of any message */
#define SFS_MAX_BULK     (SFS_MAX_IO + 4096)
#define SFS_MIN_STRIPE_SIZE (64u << 10)
#define SFS_MAX_STRIPE_SIZE (1u << 30)
#define SFS_DEFAULT_STRIPE_SIZE (1u << 20)
#define SFS_READDIR_MAX  (256u << 10) /* bulk bytes of one READDIR reply */
#define SFS_ROOT_INO     1

/* Roles a connection announces in HELLO. */
enum sfs_role { SFS_ROLE_CLIENT = 1, SFS_ROLE_OSS = 2, SFS_ROLE_ADMIN = 3 };

/*
 * Opcodes.  Names say the direction: CL = client (sfs-mount, sfs, libsfs),
 * MD = metadata server, OS = object storage server.
 */
enum sfs_op {
	/* any server:  req: role:8 client_id:64 cred:STR(<=2048)
	 *              rep: session:64 fsname:STR(<=63) uid:32 gid:32
	 * Must be the first request on a connection; every other op before a
	 * successful HELLO is refused with SFS_S_ACCES and the peer dropped. */
	SFS_HELLO = 1,

	/* ---- client -> MDS: namespace ---- */
	/* req: cred parent:64 name:STR   rep: attr */
	SFS_CLTOMD_LOOKUP = 10,
	/* req: cred ino:64               rep: attr */
	SFS_CLTOMD_GETATTR = 11,
	/* req: cred ino:64 valid:32 mode:32 uid:32 gid:32 size:64 atime:64 mtime:64
	 * rep: attr.  valid is a mask of SFS_SET_*; times are ns since the epoch,
	 * SFS_TIME_NOW for "the server's clock". */
	SFS_CLTOMD_SETATTR = 12,
	/* req: cred parent:64 name:STR mode:32 rdev:32 flags:32 sreq
	 * rep: attr layout pattr.  Regular files get their layout (objects) here:
	 * from sreq when given, else the parent's default, else the file
	 * system's.  flags: SFS_CREATE_EXCL.  pattr: the parent directory after
	 * the change (so a client can answer for it without asking again). */
	SFS_CLTOMD_CREATE = 13,
	/* req: cred parent:64 name:STR mode:32   rep: attr pattr */
	SFS_CLTOMD_MKDIR = 14,
	/* req: cred parent:64 name:STR           rep: pattr (as attr) */
	SFS_CLTOMD_UNLINK = 15,
	SFS_CLTOMD_RMDIR = 16,
	/* req: cred parent:64 name:STR newparent:64 newname:STR flags:32 (SFS_RENAME_*)
	 * rep: (empty) */
	SFS_CLTOMD_RENAME = 17,
	/* req: cred ino:64 newparent:64 newname:STR   rep: attr pattr (of newparent) */
	SFS_CLTOMD_LINK = 18,
	/* req: cred parent:64 name:STR target:STR(<=4095)   rep: attr pattr */
	SFS_CLTOMD_SYMLINK = 19,
	/* req: cred ino:64    rep: target:STR */
	SFS_CLTOMD_READLINK = 20,
	/* req: cred ino:64 cookie:64 maxbytes:32 plus:8
	 * rep: count:32 eof:8, bulk: count entries (sfs_dirent_encode) */
	SFS_CLTOMD_READDIR = 21,
	/* req: cred   rep: bsize:32 blocks:64 bfree:64 bavail:64 files:64 ffree:64 nost:32 */
	SFS_CLTOMD_STATFS = 22,
	/* req: cred ino:64 flags:32 (open(2) flags)   rep: attr layout
	 * Registers an open handle: a file unlinked while open lives until its
	 * last CLOSE. */
	SFS_CLTOMD_OPEN = 23,
	/* req: cred ino:64 size:64 mtime:64 has_size:8   rep: (empty)
	 * Drops one open handle; has_size: the client wrote up to size (the
	 * size only grows here, it never shrinks). */
	SFS_CLTOMD_CLOSE = 24,
	/* req: cred ino:64 size:64 mtime:64 flags:32   rep: attr
	 * Grows the size to at least size (flush, fsync).  With SFS_SETSIZE_SYNC
	 * (fsync, fsyncdir) every change answered so far is durable when this
	 * is answered; without it, visible to every client at once. */
	SFS_CLTOMD_SETSIZE = 25,
	/* req: cred ino:64   rep: layout sreq (the directory default, if a directory) */
	SFS_CLTOMD_GETLAYOUT = 26,
	/* req: cred ino:64 sreq   rep: layout
	 * On a directory: sets the default for new files (count 0 clears it).
	 * On a regular file of size 0: replaces its objects with a new layout. */
	SFS_CLTOMD_SETLAYOUT = 27,
	/* req: cred ino:64 name:STR          rep: (value in bulk) */
	SFS_CLTOMD_GETXATTR = 28,
	/* req: cred ino:64 name:STR flags:32, bulk: value   rep: (empty) */
	SFS_CLTOMD_SETXATTR = 29,
	/* req: cred ino:64                   rep: bulk: NUL-terminated names */
	SFS_CLTOMD_LISTXATTR = 30,
	/* req: cred ino:64 name:STR          rep: (empty) */
	SFS_CLTOMD_REMOVEXATTR = 31,
	/* req: cred sreq avoid_ost:32 (SFS_NO_OST: none)   rep: layout
	 * Allocates fresh objects for a migration (not yet attached to a file). */
	SFS_CLTOMD_ALLOCLAYOUT = 32,
	/* req: cred ino:64 old_gen:64 layout   rep: (empty)
	 * Replaces a file's layout by one from ALLOCLAYOUT if the file's layout
	 * generation is still old_gen (else SFS_S_AGAIN); old objects are
	 * destroyed. */
	SFS_CLTOMD_SWAPLAYOUT = 33,
	/* req: (empty)   rep: count:32, bulk: count OST entries (sfs_ostinfo_encode) */
	SFS_CLTOMD_OSTLIST = 34,
	/* req: ost:32 state:32 (SFS_OST_SET_*)   rep: (empty)   admin role, uid 0.
	 * INACTIVE: new objects go elsewhere (before a drain); ACTIVE: undoes it;
	 * REMOVE: forget the OST (its pending destroys too), refused with BUSY
	 * while any file has an object on it (drain it with sfs migrate first). */
	SFS_CLTOMD_OSTSTATE = 35,
	/* req: dir:64 lease:64   rep: (empty)
	 * Gives back a directory lease (after an SFS_MDTOCL_RECALL, or at will);
	 * an unknown lease is not an error.  Queued behind every earlier change
	 * of the connection, so the holder's changes are applied first. */
	SFS_CLTOMD_RELEASE = 36,
	/* req: count:32   rep: start:64 count:32
	 * Reserves inode numbers [start, start + count) for this client's
	 * asynchronous creates (CREATE with ino).  At most 4096 at a time. */
	SFS_CLTOMD_INORANGE = 37,

	/* ---- OSS -> MDS ---- */
	/* req: uuid:STR(<=63) addr:STR port:32 total:64 free:64   rep: ost:32
	 * Registers (or re-registers) an OST; the MDS assigns the index once. */
	SFS_OSTOMD_REGISTER = 50,
	/* req: ost:32 total:64 free:64 ack:64
	 * rep: count:32, bulk: count x (seq:64 objid:64) objects to destroy.
	 * ack: every destroy with seq <= ack is done and can be forgotten. */
	SFS_OSTOMD_HEARTBEAT = 51,

	/* ---- MDS -> client (not a reply: reqid 0, no answer expected) ---- */
	/* dir:64 lease:64 -- another client needs the directory: drop what the
	 * lease covers and send SFS_CLTOMD_RELEASE.  Only to clients whose HELLO
	 * asked for leases (SFS_HELLO_LEASES). */
	SFS_MDTOCL_RECALL = 60,

	/* ---- client -> OSS: objects ---- */
	/* req: ost:32 objid:64 offset:64 sync:8, bulk: data   rep: written:32 */
	SFS_CLTOOS_WRITE = 70,
	/* req: ost:32 objid:64 offset:64 len:32   rep: count:32, bulk: count bytes
	 * A short count means end of object; the client reads holes as zeros. */
	SFS_CLTOOS_READ = 71,
	/* req: ost:32 objid:64 size:64   rep: (empty)   truncate the object */
	SFS_CLTOOS_PUNCH = 72,
	/* req: ost:32 objid:64   rep: (empty)   fdatasync the object */
	SFS_CLTOOS_SYNC = 73,
	/* req: ost:32 objid:64   rep: (empty)   a missing object is not an error */
	SFS_CLTOOS_DESTROY = 74,
	/* req: ost:32 objid:64   rep: size:64 blocks:64 (512-byte) */
	SFS_CLTOOS_STAT = 75,
	/* req: ost:32   rep: total:64 free:64 */
	SFS_CLTOOS_STATFS = 76,
};

/* Wire status codes: stable numbers, independent of any platform's errno. */
enum sfs_status {
	SFS_S_OK = 0, SFS_S_PERM = 1, SFS_S_NOENT = 2, SFS_S_IO = 3, SFS_S_ACCES = 4,
	SFS_S_EXIST = 5, SFS_S_NOTDIR = 6, SFS_S_ISDIR = 7, SFS_S_INVAL = 8,
	SFS_S_FBIG = 9, SFS_S_NOSPC = 10, SFS_S_ROFS = 11, SFS_S_MLINK = 12,
	SFS_S_NAMETOOLONG = 13, SFS_S_NOTEMPTY = 14, SFS_S_NODATA = 15,
	SFS_S_RANGE = 16, SFS_S_XDEV = 17, SFS_S_AGAIN = 18, SFS_S_NOSYS = 19,
	SFS_S_PROTO = 20, SFS_S_STALE = 21, SFS_S_E2BIG = 22, SFS_S_NOTSUP = 23,
	SFS_S_BUSY = 24, SFS_S_NOMEM = 25, SFS_S_TIMEDOUT = 26, SFS_S_LOOP = 27,
	SFS_S_BADF = 28, SFS_S_OVERFLOW = 29, SFS_S_DQUOT = 30,
};

/* The one place where wire statuses and errno meet.  Unknown -> EIO / SFS_S_IO. */
int sfs_status_to_errno(int32_t status);      /* returns a positive errno, 0 for OK */
int32_t sfs_status_from_errno(int err);       /* err positive or negative */

/* SETATTR valid bits */
#define SFS_SET_MODE  0x01
#define SFS_SET_UID   0x02
#define SFS_SET_GID   0x04
#define SFS_SET_SIZE  0x08
#define SFS_SET_ATIME 0x10
#define SFS_SET_MTIME 0x20
#define SFS_SET_CTIME 0x40
#define SFS_TIME_NOW  INT64_MIN

#define SFS_CREATE_EXCL 0x01
#define SFS_CREATE_OPEN 0x100        /* CREATE also opens the file (counts as OPEN) */
#define SFS_OPEN_REOPEN 0x80000000u  /* OPEN flag: re-register a handle after an MDS restart */
#define SFS_SETSIZE_SYNC 0x01        /* SETSIZE: answer once every change is durable */
#define SFS_RENAME_NOREPLACE 0x01
#define SFS_RENAME_EXCHANGE  0x02
#define SFS_XATTR_CREATE  0x01
#define SFS_XATTR_REPLACE 0x02
#define SFS_NO_OST 0xffffffffu
#define SFS_OST_SET_ACTIVE   0
#define SFS_OST_SET_INACTIVE 1
#define SFS_OST_SET_REMOVE   2

/* ---- composite field types ---- */

/* cred: uid:32 gid:32 ngroups:8 groups:32[ngroups<=16]: the user a request acts for. */
struct sfs_cred {
	uint32_t uid, gid;
	uint32_t ngroups;
	uint32_t groups[SFS_MAX_GROUPS];
};

/* attr: ino:64 mode:32 nlink:32 uid:32 gid:32 rdev:32 size:64 blocks:64
 *       atime:64 mtime:64 ctime:64 (ns since the epoch) gen:64 */
struct sfs_attr {
	uint64_t ino;
	uint32_t mode, nlink, uid, gid, rdev;
	uint64_t size, blocks;
	int64_t atime, mtime, ctime;
	uint64_t gen;
};

/* stripe: ost:32 objid:64 */
struct sfs_stripe {
	uint32_t ost;
	uint64_t objid;
};

/* layout: stripe_size:32 count:32 gen:64 count x stripe.  count 0: no objects
 * (not a regular file).  stripe_size is a multiple of 64 KiB. */
struct sfs_layout {
	uint32_t stripe_size;
	uint32_t count;
	uint64_t gen;
	struct sfs_stripe stripes[SFS_MAX_STRIPES];
};

/* sreq: count:32 (signed: -1 all OSTs, 0 default) size:32 (0 default)
 *       start:32 (signed: -1 any) -- a request for a layout, or a directory default. */
struct sfs_sreq {
	int32_t count;
	uint32_t size;
	int32_t start;
};

/* ---- the fixed header ---- */
struct sfs_hdr {
	uint8_t version, flags;
	uint16_t op;
	uint64_t reqid;
	int32_t status;
	uint32_t plen, blen;
};

void sfs_hdr_encode(const struct sfs_hdr *h, uint8_t out[SFS_HDR_LEN]);
/* 0, or -EPROTO for a bad magic/version, an unknown op, or lengths over the
 * op's limits (the caller drops the peer). */
int sfs_hdr_decode(const uint8_t in[SFS_HDR_LEN], struct sfs_hdr *h);

/* ---- message structs (one per request and reply payload) ---- */

#define SFS_HELLO_LEASES 0x01       /* HELLO flag: this client takes directory leases */
struct sfs_hello_req { uint8_t role; uint64_t client_id; char cred[SFS_CRED_MAX + 1]; uint32_t flags; };
#define SFS_HELLO_SQUASHED 0x01     /* HELLO reply flag: the MDS squashes this client's root */
struct sfs_hello_rep { uint64_t session; char fsname[SFS_FSNAME_MAX + 1]; uint32_t uid, gid, flags; };

struct sfs_name_req { struct sfs_cred cred; uint64_t parent; char name[SFS_NAME_MAX + 1]; };
struct sfs_ino_req { struct sfs_cred cred; uint64_t ino; };
/* lease: nonzero when the attributes (and, for LOOKUP, the name) are covered
 * by a directory lease this client holds: valid until that lease is
 * recalled (see wire-protocol.md, Leases). */
struct sfs_attr_rep { struct sfs_attr attr; uint64_t lease; };
struct sfs_setattr_req {
	struct sfs_cred cred; uint64_t ino; uint32_t valid, mode, uid, gid;
	uint64_t size; int64_t atime, mtime;
};
/* ino, time: 0, or an inode number from this client's INORANGE grant and the
 * client's clock for the new inode's times (a create the client answered
 * before sending it: wire-protocol.md, Asynchronous creates). */
struct sfs_create_req {
	struct sfs_cred cred; uint64_t parent; char name[SFS_NAME_MAX + 1];
	uint32_t mode, rdev, flags; struct sfs_sreq sreq; uint64_t ino; int64_t time;
};
struct sfs_inorange_req { uint32_t count; };
struct sfs_inorange_rep { uint64_t start; uint32_t count; };
struct sfs_attr_layout_rep { struct sfs_attr attr; struct sfs_layout layout; };
/* pseq: the parent directory's name counter after the change (it grows by one
 * with every name added to the directory, by anyone), so that a client can
 * tell whether a name it did not add appeared; seq: the new entry's own
 * counter (directories; 0 otherwise).  See wire-protocol.md. */
struct sfs_create_rep { struct sfs_attr attr; struct sfs_layout layout; struct sfs_attr pattr; uint64_t pseq, lease; };
struct sfs_entry_rep { struct sfs_attr attr; struct sfs_attr pattr; uint64_t seq, pseq; };
struct sfs_mkdir_req { struct sfs_cred cred; uint64_t parent; char name[SFS_NAME_MAX + 1]; uint32_t mode; };
struct sfs_rename_req {
	struct sfs_cred cred; uint64_t parent; char name[SFS_NAME_MAX + 1];
	uint64_t newparent; char newname[SFS_NAME_MAX + 1]; uint32_t flags;
};
struct sfs_link_req { struct sfs_cred cred; uint64_t ino, newparent; char newname[SFS_NAME_MAX + 1]; };
struct sfs_symlink_req { struct sfs_cred cred; uint64_t parent; char name[SFS_NAME_MAX + 1]; char target[SFS_PATH_MAX + 1]; };
struct sfs_readlink_rep { char target[SFS_PATH_MAX + 1]; };
struct sfs_readdir_req { struct sfs_cred cred; uint64_t ino, cookie; uint32_t maxbytes; uint8_t plus; };
struct sfs_readdir_rep { uint32_t count; uint8_t eof; };
struct sfs_cred_req { struct sfs_cred cred; };
struct sfs_statfs_rep {
	uint32_t bsize; uint64_t blocks, bfree, bavail, files, ffree; uint32_t nost;
};
struct sfs_open_req { struct sfs_cred cred; uint64_t ino; uint32_t flags; };
struct sfs_close_req { struct sfs_cred cred; uint64_t ino, size; int64_t mtime; uint8_t has_size; };
struct sfs_setsize_req { struct sfs_cred cred; uint64_t ino, size; int64_t mtime; uint32_t flags; };
struct sfs_getlayout_rep { struct sfs_layout layout; struct sfs_sreq sreq; };
struct sfs_setlayout_req { struct sfs_cred cred; uint64_t ino; struct sfs_sreq sreq; };
struct sfs_layout_rep { struct sfs_layout layout; };
struct sfs_xattr_req { struct sfs_cred cred; uint64_t ino; char name[SFS_XATTR_NAME_MAX + 1]; uint32_t flags; };
struct sfs_alloclayout_req { struct sfs_cred cred; struct sfs_sreq sreq; uint32_t avoid_ost; };
struct sfs_swaplayout_req { struct sfs_cred cred; uint64_t ino, old_gen; struct sfs_layout layout; };
struct sfs_count_rep { uint32_t count; };
struct sfs_empty { uint8_t unused; };

struct sfs_register_req { char uuid[SFS_FSNAME_MAX + 1]; char addr[SFS_ADDR_MAX + 1]; uint32_t port; uint64_t total, free; };
struct sfs_register_rep { uint32_t ost; };
struct sfs_heartbeat_req { uint32_t ost; uint64_t total, free, ack; };
struct sfs_oststate_req { uint32_t ost, state; };
struct sfs_lease_msg { uint64_t dir, lease; };

struct sfs_obj_write_req { uint32_t ost; uint64_t objid, offset; uint8_t sync; };
struct sfs_obj_write_rep { uint32_t written; };
struct sfs_obj_read_req { uint32_t ost; uint64_t objid, offset; uint32_t len; };
struct sfs_obj_punch_req { uint32_t ost; uint64_t objid, size; };
struct sfs_obj_req { uint32_t ost; uint64_t objid; };
struct sfs_obj_stat_rep { uint64_t size, blocks; };
struct sfs_ost_req { uint32_t ost; };
struct sfs_ost_statfs_rep { uint64_t total, free; };

/* A union big enough for any payload struct: servers decode into one. */
union sfs_msg {
	struct sfs_hello_req hello_req; struct sfs_hello_rep hello_rep;
	struct sfs_name_req name_req; struct sfs_ino_req ino_req; struct sfs_attr_rep attr_rep;
	struct sfs_setattr_req setattr_req; struct sfs_create_req create_req;
	struct sfs_attr_layout_rep attr_layout_rep; struct sfs_mkdir_req mkdir_req;
	struct sfs_create_rep create_rep; struct sfs_entry_rep entry_rep;
	struct sfs_rename_req rename_req; struct sfs_link_req link_req;
	struct sfs_symlink_req symlink_req; struct sfs_readlink_rep readlink_rep;
	struct sfs_readdir_req readdir_req; struct sfs_readdir_rep readdir_rep;
	struct sfs_cred_req cred_req; struct sfs_statfs_rep statfs_rep;
	struct sfs_open_req open_req; struct sfs_close_req close_req;
	struct sfs_setsize_req setsize_req; struct sfs_getlayout_rep getlayout_rep;
	struct sfs_setlayout_req setlayout_req; struct sfs_layout_rep layout_rep;
	struct sfs_xattr_req xattr_req; struct sfs_alloclayout_req alloclayout_req;
	struct sfs_swaplayout_req swaplayout_req; struct sfs_count_rep count_rep;
	struct sfs_register_req register_req; struct sfs_register_rep register_rep;
	struct sfs_heartbeat_req heartbeat_req; struct sfs_obj_write_req obj_write_req;
	struct sfs_obj_write_rep obj_write_rep; struct sfs_obj_read_req obj_read_req;
	struct sfs_obj_punch_req obj_punch_req; struct sfs_obj_req obj_req;
	struct sfs_obj_stat_rep obj_stat_rep; struct sfs_ost_req ost_req;
	struct sfs_ost_statfs_rep ost_statfs_rep; struct sfs_empty empty;
	struct sfs_oststate_req oststate_req; struct sfs_lease_msg lease_msg;
	struct sfs_inorange_req inorange_req; struct sfs_inorange_rep inorange_rep;
};

/* What the protocol knows about one op. */
struct sfs_opinfo {
	uint16_t op;
	const char *name;
	size_t req_size, rep_size;    /* sizeof the payload structs */
	uint32_t req_bulk, rep_bulk;  /* bulk byte limits */
	bool mutating;                /* MDS: changes state (group-committed, reply-cached) */
};
/* NULL for an unknown op. */
const struct sfs_opinfo *sfs_op_info(uint16_t op);
const char *sfs_op_name(uint16_t op);

/*
 * Encode the payload of op (reply or request) from msg into out (cap bytes).
 * Returns the length, or -ENOBUFS / -EINVAL (a value out of range).
 */
int sfs_encode(uint16_t op, bool reply, const void *msg, uint8_t *out, size_t cap);
/*
 * Decode a payload into msg (of the op's struct type; zeroed first).
 * 0, or -EPROTO for anything malformed: short, long, bad string, count over
 * a limit.  Never reads past len.
 */
int sfs_decode(uint16_t op, bool reply, const uint8_t *in, size_t len, void *msg);

/* ---- bulk records ---- */

/* dirent: ino:64 cookie:64 mode:32 name:STR [attr if plus] */
struct sfs_dirent {
	uint64_t ino, cookie;
	uint32_t mode;
	char name[SFS_NAME_MAX + 1];
	struct sfs_attr attr;
};
/* Append one entry at out+*pos (cap bytes in all); -ENOBUFS when it does not fit. */
int sfs_dirent_encode(const struct sfs_dirent *d, bool plus, uint8_t *out, size_t cap, size_t *pos);
/* Decode the entry at in+*pos; -EPROTO if malformed. */
int sfs_dirent_decode(struct sfs_dirent *d, bool plus, const uint8_t *in, size_t len, size_t *pos);

/* ostinfo: ost:32 uuid:STR addr:STR port:32 total:64 free:64 up:8
 * up: 0 down, 1 up, 2 up but inactive (takes no new objects: SFS_CLTOMD_OSTSTATE) */
struct sfs_ostinfo {
	uint32_t ost;
	char uuid[SFS_FSNAME_MAX + 1];
	char addr[SFS_ADDR_MAX + 1];
	uint32_t port;
	uint64_t total, free;
	uint8_t up;
};
int sfs_ostinfo_encode(const struct sfs_ostinfo *o, uint8_t *out, size_t cap, size_t *pos);
int sfs_ostinfo_decode(struct sfs_ostinfo *o, const uint8_t *in, size_t len, size_t *pos);

/* destroy item: seq:64 objid:64 */
struct sfs_destroy_item { uint64_t seq, objid; };
int sfs_destroy_encode(const struct sfs_destroy_item *d, uint8_t *out, size_t cap, size_t *pos);
int sfs_destroy_decode(struct sfs_destroy_item *d, const uint8_t *in, size_t len, size_t *pos);

/* Layout check shared by every decoder and the MDS: 0 or -EINVAL. */
int sfs_layout_valid(const struct sfs_layout *l);

#endif
