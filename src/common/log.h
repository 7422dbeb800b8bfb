/*
 * log.h: leveled logging for every Stratus program.
 *
 * One line per message: time, program, pid, level, the calling thread's
 * context (a connection or request id, set with log_set_context) and the text.
 * Lines go to stderr until log_open_file() points them at a file (daemons).
 * Safe to call from any thread; a line is written with one write(2).
 */
#ifndef STRATUS_LOG_H
#define STRATUS_LOG_H

#include <stdarg.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Name the program (kept by pointer: pass a string that lives forever). */
void log_init(const char *progname, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "error", "warn", "info", "debug" -> level; -EINVAL on anything else. */
int log_level_parse(const char *name);
/* Append to PATH (created 0640).  Returns 0 or -errno; stderr stays in use on error. */
int log_open_file(const char *path);
/* Per-thread context shown on each line, e.g. "c17" or "req 42"; NULL clears. Copied. */
void log_set_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_get_level() >= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
