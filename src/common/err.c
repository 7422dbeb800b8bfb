/*
 * err.c: die(), error() and warning() of err.h.
 */
#include "common/err.h"

#include <stdio.h>
#include <stdlib.h>

static const char *err_prog = "stratus";

void err_set_progname(const char *name)
{
	err_prog = name;
}

static void report(const char *prefix, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void report(const char *prefix, const char *fmt, va_list ap)
{
	char msg[2048];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s: %s%s\n", err_prog, prefix, msg);
	fflush(stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report("error: ", fmt, ap);
	va_end(ap);
	exit(1);
}

int error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report("error: ", fmt, ap);
	va_end(ap);
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report("warning: ", fmt, ap);
	va_end(ap);
}
