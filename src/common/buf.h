/*
 * buf.h: growable byte buffers with a hard size cap.
 *
 * A buffer never grows past its cap: appends that would return -ENOBUFS and
 * leave the buffer as it was, so a peer cannot make us allocate without bound.
 * The data is always NUL-terminated (not counted in len) for text use.
 */
#ifndef STRATUS_BUF_H
#define STRATUS_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;   /* NULL until the first append */
	size_t len;   /* bytes in use */
	size_t cap;   /* bytes allocated (excluding the NUL) */
	size_t max;   /* hard cap on len */
};

#define BUF_INIT(maxbytes) { NULL, 0, 0, (maxbytes) }

void buf_init(struct buf *b, size_t max);
/* Free the memory; the buffer is empty and reusable afterwards. */
void buf_release(struct buf *b);
/* Make room for n more bytes.  0, -ENOBUFS past the cap, -ENOMEM. */
int buf_reserve(struct buf *b, size_t n);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Drop the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
/* Hand the data to the caller (who frees it); the buffer becomes empty. */
char *buf_detach(struct buf *b, size_t *len);

#endif
