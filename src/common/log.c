/*
 * log.c: the logging of log.h.  Formats each line into a stack buffer and
 * writes it with a single write(2), so lines from threads never interleave.
 */
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "stratus";
static volatile int log_level = LOG_INFO;
static volatile int log_fd = 2;
static __thread char log_ctx[48];

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_init(const char *progname, enum log_level level)
{
	log_prog = progname;
	log_level = level;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return (enum log_level)log_level;
}

int log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (!strcasecmp(name, level_names[i]))
			return (int)i;
	return -EINVAL;
}

int log_open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	int old = log_fd;
	log_fd = fd;
	if (old > 2)
		close(old);
	return 0;
}

void log_set_context(const char *fmt, ...)
{
	if (!fmt) {
		log_ctx[0] = '\0';
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(log_ctx, sizeof(log_ctx), fmt, ap);
	va_end(ap);
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	if ((int)level > log_level)
		return;
	int saved = errno;
	char line[2048];
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s%s%s%s: ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (long)tv.tv_usec / 1000, log_prog, (int)getpid(), level_names[level],
			 log_ctx[0] ? " [" : "", log_ctx, log_ctx[0] ? "]" : "");
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof(line)) {
		int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
		if (m > 0)
			n = ((size_t)(n + m) < sizeof(line)) ? n + m : (int)sizeof(line) - 1;
	}
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	ssize_t w = write(log_fd, line, (size_t)n);
	(void)w;
	errno = saved;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
