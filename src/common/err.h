/*
 * err.h: how Stratus reports failure.
 *
 * Functions return 0 (or a count) on success and -errno on failure; one
 * cleanup ladder per function.  Messages a person reads say what failed, on
 * what, and what to do: lowercase, no full stop, the subject in quotes, e.g.
 *   error("cannot open '%s': %s; is the OST directory mounted?", path, strerror(-rc));
 *
 * die() is for programs that cannot go on (bad flags, no state directory);
 * libraries never call it.
 */
#ifndef STRATUS_ERR_H
#define STRATUS_ERR_H

#include <errno.h>
#include <stdarg.h>

/* Print "PROG: error: MSG" to stderr (and the log if one is open); exit(1). */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Print "PROG: error: MSG" and return -1, for `return error(...)` in main paths. */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The name used in those messages (default "stratus"); kept by pointer. */
void err_set_progname(const char *name);

/* Return -errno from a call that set errno, never 0 even if errno was lost. */
static inline int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

#endif
