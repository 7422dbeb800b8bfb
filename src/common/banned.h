/*
 * banned.h: functions that must not be used in Stratus, made compile errors.
 *
 * Force-included into every translation unit by the Makefile.  Each one has a
 * bounded or reentrant replacement: strcpy/strcat -> snprintf or buf_append,
 * sprintf/vsprintf -> snprintf, strtok -> strtok_r, gets -> fgets,
 * gmtime/localtime -> gmtime_r/localtime_r, atoi/atol -> strtol with checks.
 * System headers are included first so their own declarations still parse.
 */
#ifndef STRATUS_BANNED_H
#define STRATUS_BANNED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gets
#define gets(x) BANNED(gets)
#undef gmtime
#define gmtime(t) BANNED(gmtime)
#undef localtime
#define localtime(t) BANNED(localtime)
#undef ctime
#define ctime(t) BANNED(ctime)
#undef asctime
#define asctime(t) BANNED(asctime)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)

#endif
