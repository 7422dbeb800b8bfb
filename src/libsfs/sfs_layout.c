/*
 * sfs_layout.c: RAID-0 layout arithmetic (see sfs_layout.h).
 */
#include "libsfs/sfs_layout.h"

#include <errno.h>

void sfs_layout_map(const struct sfs_layout *l, uint64_t off, uint32_t *stripe, uint64_t *obj_off)
{
	uint64_t ss = l->stripe_size, unit = off / ss;
	*stripe = (uint32_t)(unit % l->count);
	*obj_off = (unit / l->count) * ss + off % ss;
}

uint64_t sfs_layout_unmap(const struct sfs_layout *l, uint32_t stripe, uint64_t obj_off)
{
	uint64_t ss = l->stripe_size;
	return (obj_off / ss) * ss * l->count + (uint64_t)stripe * ss + obj_off % ss;
}

uint64_t sfs_layout_obj_size(const struct sfs_layout *l, uint32_t stripe, uint64_t size)
{
	uint64_t ss = l->stripe_size, row = ss * l->count;
	uint64_t full = size / row, rem = size % row;
	uint64_t base = full * ss;
	uint64_t start = (uint64_t)stripe * ss;
	if (rem > start)
		base += rem - start > ss ? ss : rem - start;
	return base;
}

int sfs_layout_extents(const struct sfs_layout *l, uint64_t off, uint64_t len,
		       struct sfs_extent *ext, int max)
{
	int n = 0;
	uint64_t ss = l->stripe_size, end = off + len;
	while (off < end) {
		uint32_t s;
		uint64_t oo;
		sfs_layout_map(l, off, &s, &oo);
		uint64_t unit_end = (off / ss + 1) * ss;
		uint64_t piece = (unit_end < end ? unit_end : end) - off;
		if (n > 0 && ext[n - 1].stripe == s && ext[n - 1].obj_off + ext[n - 1].len == oo &&
		    (uint64_t)ext[n - 1].len + piece <= UINT32_MAX) {
			ext[n - 1].len += (uint32_t)piece;
		} else {
			if (n == max)
				return -E2BIG;
			ext[n].stripe = s;
			ext[n].obj_off = oo;
			ext[n].file_off = off;
			ext[n].len = (uint32_t)piece;
			n++;
		}
		off += piece;
	}
	return n;
}
