/*
 * lang_err.c: liblang's error messages (lang_err.h).
 */
#include "lang/lang_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int lang_err(int *rc, char **err, const char *file, unsigned line, int code, const char *fmt, ...)
{
	if (*rc)
		return *rc;
	*rc = code;
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return code;
	int r;
	if (!file)
		r = asprintf(err, "%s", msg);
	else if (line)
		r = asprintf(err, "%s:%u: %s", file, line, msg);
	else
		r = asprintf(err, "%s: %s", file, msg);
	if (r < 0)
		*err = NULL;
	free(msg);
	return code;
}
