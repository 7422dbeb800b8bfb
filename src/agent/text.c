/*
 * text.c: making script output safe to send as a JSON string: valid UTF-8
 * (jansson refuses anything else), no control characters that would grow
 * six-fold when escaped, and only the tail of a long log (errors are at the end).
 */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	unsigned cp = c & (0x3f >> (len - 1));
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

char *text_sanitize(const char *src, size_t n)
{
	const unsigned char *p = (const unsigned char *)src;
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len(p + i, n - i);
		if (l == 0) {
			out[o++] = '?';
			i++;
		} else if (l == 1) {
			unsigned char c = p[i++];
			out[o++] = (c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f ? '?' : (char)c;
		} else {
			memcpy(out + o, p + i, l);
			o += l;
			i += l;
		}
	}
	out[o] = '\0';
	return out;
}

int text_tail_file(const char *path, size_t max, char **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int rc = neg_errno();
		close(fd);
		return rc;
	}
	size_t size = (size_t)st.st_size;
	off_t off = size > max ? (off_t)(size - max) : 0;
	size_t want = size > max ? max : size;
	char *b = malloc(want + 1);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got < want) {
		ssize_t r = pread(fd, b + got, want - got, off + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	/* A cut in the middle of a character would show as '?': start after it. */
	size_t skip = 0;
	if (off > 0)
		while (skip < got && skip < 3 && ((unsigned char)b[skip] & 0xc0) == 0x80)
			skip++;
	*out = text_sanitize(b + skip, got - skip);
	free(b);
	return *out ? 0 : -ENOMEM;
}
