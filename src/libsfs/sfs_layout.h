/*
 * sfs_layout.h: RAID-0 layout arithmetic.  A file is cut into stripe_size
 * units dealt round-robin over its count objects:
 *
 *   unit u = off / stripe_size  ->  object u % count, at object offset
 *   (u / count) * stripe_size + off % stripe_size
 *
 * Pure functions, no I/O: the client, the admin tool and the tests share them.
 */
#ifndef STRATUS_SFS_LAYOUT_H
#define STRATUS_SFS_LAYOUT_H

#include <stdint.h>

#include "proto/sfs_proto.h"

/* One piece of a file range that lies in one object. */
struct sfs_extent {
	uint32_t stripe;     /* index into layout->stripes */
	uint64_t obj_off;    /* offset inside that object */
	uint64_t file_off;   /* offset in the file */
	uint32_t len;
};

/* Map a file offset to (stripe index, object offset). */
void sfs_layout_map(const struct sfs_layout *l, uint64_t off, uint32_t *stripe, uint64_t *obj_off);
/* The inverse: the file offset of byte obj_off of object stripe. */
uint64_t sfs_layout_unmap(const struct sfs_layout *l, uint32_t stripe, uint64_t obj_off);
/* How long object stripe is when the file is size bytes long. */
uint64_t sfs_layout_obj_size(const struct sfs_layout *l, uint32_t stripe, uint64_t size);
/*
 * Cut [off, off+len) into at most max extents, in file order, merging
 * neighbours that are contiguous in one object (always the case with one
 * stripe).  Returns the number of extents, or -E2BIG if max is too small.
 */
int sfs_layout_extents(const struct sfs_layout *l, uint64_t off, uint64_t len,
		       struct sfs_extent *ext, int max);

#endif
