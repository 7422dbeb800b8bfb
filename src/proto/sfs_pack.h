/*
 * sfs_pack.h: packing integers and strings field by field, in network byte
 * order, with bounds checks on every access.  The wire codec and the MDS's
 * on-disk records are both written with these.
 *
 * A writer or reader remembers its first failure in `err`; later calls do
 * nothing, so a sequence of puts/gets is checked once at the end.
 */
#ifndef STRATUS_SFS_PACK_H
#define STRATUS_SFS_PACK_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

struct pack_w {
	uint8_t *p;
	size_t cap, len;
	int err;     /* 0 or -ENOBUFS */
};

struct pack_r {
	const uint8_t *p;
	size_t len, pos;
	int err;     /* 0 or -EPROTO */
};

static inline void pw_init(struct pack_w *w, uint8_t *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->len = 0;
	w->err = 0;
}

static inline uint8_t *pw_room(struct pack_w *w, size_t n)
{
	if (w->err || w->cap - w->len < n) {
		w->err = -ENOBUFS;
		return NULL;
	}
	uint8_t *q = w->p + w->len;
	w->len += n;
	return q;
}

static inline void pw_u8(struct pack_w *w, uint8_t v)
{
	uint8_t *q = pw_room(w, 1);
	if (q)
		q[0] = v;
}

static inline void pw_u16(struct pack_w *w, uint16_t v)
{
	uint8_t *q = pw_room(w, 2);
	if (q) {
		q[0] = (uint8_t)(v >> 8);
		q[1] = (uint8_t)v;
	}
}

static inline void pw_u32(struct pack_w *w, uint32_t v)
{
	uint8_t *q = pw_room(w, 4);
	if (q)
		for (int i = 0; i < 4; i++)
			q[i] = (uint8_t)(v >> (24 - 8 * i));
}

static inline void pw_u64(struct pack_w *w, uint64_t v)
{
	uint8_t *q = pw_room(w, 8);
	if (q)
		for (int i = 0; i < 8; i++)
			q[i] = (uint8_t)(v >> (56 - 8 * i));
}

static inline void pw_bytes(struct pack_w *w, const void *b, size_t n)
{
	uint8_t *q = pw_room(w, n);
	if (q && n)
		memcpy(q, b, n);
}

/* len:16 then the bytes; strings longer than max are refused (-ENOBUFS). */
static inline void pw_str(struct pack_w *w, const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);
	if (n > max || n > 0xffff) {
		w->err = -ENOBUFS;
		return;
	}
	pw_u16(w, (uint16_t)n);
	pw_bytes(w, s, n);
}

static inline void pr_init(struct pack_r *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
	r->err = 0;
}

static inline const uint8_t *pr_take(struct pack_r *r, size_t n)
{
	if (r->err || r->len - r->pos < n) {
		r->err = -EPROTO;
		return NULL;
	}
	const uint8_t *q = r->p + r->pos;
	r->pos += n;
	return q;
}

static inline uint8_t pr_u8(struct pack_r *r)
{
	const uint8_t *q = pr_take(r, 1);
	return q ? q[0] : 0;
}

static inline uint16_t pr_u16(struct pack_r *r)
{
	const uint8_t *q = pr_take(r, 2);
	return q ? (uint16_t)((q[0] << 8) | q[1]) : 0;
}

static inline uint32_t pr_u32(struct pack_r *r)
{
	const uint8_t *q = pr_take(r, 4);
	uint32_t v = 0;
	if (q)
		for (int i = 0; i < 4; i++)
			v = (v << 8) | q[i];
	return v;
}

static inline uint64_t pr_u64(struct pack_r *r)
{
	const uint8_t *q = pr_take(r, 8);
	uint64_t v = 0;
	if (q)
		for (int i = 0; i < 8; i++)
			v = (v << 8) | q[i];
	return v;
}

/* A string of at most max bytes into out (max+1 bytes); NUL bytes inside
 * are refused: a name with a NUL would mean two different things. */
static inline void pr_str(struct pack_r *r, char *out, size_t max)
{
	uint16_t n = pr_u16(r);
	if (r->err)
		return;
	if (n > max) {
		r->err = -EPROTO;
		return;
	}
	const uint8_t *q = pr_take(r, n);
	if (!q)
		return;
	if (memchr(q, 0, n)) {
		r->err = -EPROTO;
		return;
	}
	memcpy(out, q, n);
	out[n] = 0;
}

#endif
