/*
 * util.h: small helpers with no better home: pid files, file writes that
 * survive crashes, directory creation, monotonic time.
 */
#ifndef STRATUS_UTIL_H
#define STRATUS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* mkdir -p with mode for the created directories.  0 or -errno. */
int util_mkdirs(const char *path, mode_t mode);
/* Write data to PATH atomically: temp file, fsync, rename, fsync of the directory. */
int util_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Read a whole file (up to max bytes) into a malloc'd NUL-terminated buffer. */
int util_read_file(const char *path, size_t max, char **out, size_t *len);
/* Write our pid to PATH (atomically).  0 or -errno. */
int util_write_pidfile(const char *path);
/* Milliseconds on CLOCK_MONOTONIC / CLOCK_REALTIME. */
int64_t util_mono_ms(void);
int64_t util_wall_ms(void);

#endif
