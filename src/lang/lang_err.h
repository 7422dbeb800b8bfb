/*
 * lang_err.h: the error messages of liblang's parsers (template.c, ini.c),
 * built in one place: the first error wins (later ones are what it caused),
 * and the message says where: "FILE:LINE: what is wrong and what to write".
 * Internal to src/lang; filter.c reports columns, with a caret, instead.
 */
#ifndef STRATUS_LANG_ERR_H
#define STRATUS_LANG_ERR_H

/*
 * Record error CODE (-errno) with the message FMT... in *rc and *err (malloc'd),
 * unless *rc already holds one.  The message is "FILE:LINE: MSG", "FILE: MSG"
 * when line is 0, or just MSG when file is NULL.  Returns *rc as it then
 * stands, so that `return lang_err(...)` passes the first error on.  When
 * memory runs out, *rc is set and *err stays NULL.
 */
int lang_err(int *rc, char **err, const char *file, unsigned line, int code, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

#endif
