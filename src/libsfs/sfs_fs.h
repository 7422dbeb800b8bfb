/*
 * sfs_fs.h: a client of one StratusFS file system: the MDS connection, the
 * connections to every OST (made on first use, found through the MDS's OST
 * list, re-resolved when an OSS moves), and striped object I/O with every
 * stripe of a request in flight at once.
 */
#ifndef STRATUS_SFS_FS_H
#define STRATUS_SFS_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libsfs/sfs_conn.h"
#include "proto/sfs_proto.h"

struct sfs_fs;

struct sfs_fs_opts {
	const char *mds_host;        /* copied */
	int mds_port;
	const char *munge_socket;    /* copied; NULL: MUNGE's default */
	int64_t timeout_ms;          /* per operation, retries included */
	int conns_per_ost;           /* parallel connections to each OST (>= 1) */
	uint8_t role;                /* SFS_ROLE_CLIENT or SFS_ROLE_ADMIN */
	int mds_conns;               /* connections to the MDS (0 or 1: one); see sfs_fs_mds_any */
	/* Optional: take directory leases; the MDS's recalls go here (see
	 * sfs_conn_opts.notify). */
	void (*notify)(void *arg, uint16_t op, const void *msg);
	void *notify_arg;
};

/* Connect to the MDS (authenticated).  NULL with the reason in errbuf. */
struct sfs_fs *sfs_fs_open(const struct sfs_fs_opts *o, char *errbuf, size_t errlen);
void sfs_fs_close(struct sfs_fs *fs);
/* The first MDS connection (the one whose generation tells of an MDS restart). */
struct sfs_conn *sfs_fs_mds(struct sfs_fs *fs);
/* One of the mds_conns MDS connections, in turn: the MDS serves each
 * connection with one thread, so independent calls of several threads
 * spread over several are not queued behind each other. */
struct sfs_conn *sfs_fs_mds_any(struct sfs_fs *fs);
const char *sfs_fs_name(struct sfs_fs *fs);

/* Write len bytes at file offset off through layout l (sync: each object
 * fdatasync'd before the reply).  0 or -errno. */
int sfs_fs_write(struct sfs_fs *fs, const struct sfs_layout *l, const void *buf, size_t len,
		 uint64_t off, bool sync);
/* sfs_fs_write for a buffer the caller pins (struct sfs_call's
 * bulk_out_pinned): untouched until this returns, and after a failure never
 * written again (unmapped, not reused).  Its pages then go to the sockets
 * without being copied. */
int sfs_fs_write_pinned(struct sfs_fs *fs, const struct sfs_layout *l, const void *buf, size_t len,
			uint64_t off);
/* Read len bytes at off; holes and short objects read as zeros.  0 or -errno. */
int sfs_fs_read(struct sfs_fs *fs, const struct sfs_layout *l, void *buf, size_t len, uint64_t off);
/* Cut every object to what a file of `size` bytes needs.  0 or -errno. */
int sfs_fs_punch(struct sfs_fs *fs, const struct sfs_layout *l, uint64_t size);
/* fdatasync every object of the layout.  0 or -errno. */
int sfs_fs_sync(struct sfs_fs *fs, const struct sfs_layout *l);
/* The OST list from the MDS (malloc'd array, caller frees).  0 or -errno. */
int sfs_fs_ostlist(struct sfs_fs *fs, struct sfs_ostinfo **out, uint32_t *n);
/* Bytes of object data stored for a layout (sum of the objects' sizes). */
int sfs_fs_objstat(struct sfs_fs *fs, const struct sfs_stripe *s, uint64_t *size);

#endif
