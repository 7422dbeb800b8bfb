/*
 * config.c: the configuration tables of config.h: defaults, files, flags, help.
 */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"

int cfg_parse_int(const char *s, int64_t *out)
{
	if (!s || !*s)
		return -EINVAL;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Number with a unit suffix scaled by the table; bare numbers scale by `bare`. */
static int parse_scaled(const char *s, int64_t *out, const char *const *units,
			const int64_t *scale, int64_t bare)
{
	if (!s || !*s)
		return -EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno == ERANGE || end == s || v < 0 || v != v)
		return end == s ? -EINVAL : -ERANGE;
	int64_t mul = bare;
	if (*end) {
		size_t i;
		for (i = 0; units[i]; i++)
			if (!strcasecmp(end, units[i]))
				break;
		if (!units[i])
			return -EINVAL;
		mul = scale[i];
	}
	double r = v * (double)mul;
	if (r > (double)INT64_MAX)
		return -ERANGE;
	*out = (int64_t)r;
	return 0;
}

int cfg_parse_size(const char *s, int64_t *out)
{
	static const char *const u[] = { "b", "k", "kb", "kib", "m", "mb", "mib", "g", "gb", "gib",
					 "t", "tb", "tib", NULL };
	static const int64_t sc[] = { 1, 1LL << 10, 1LL << 10, 1LL << 10, 1LL << 20, 1LL << 20, 1LL << 20,
				      1LL << 30, 1LL << 30, 1LL << 30, 1LL << 40, 1LL << 40, 1LL << 40 };
	return parse_scaled(s, out, u, sc, 1);
}

int cfg_parse_duration_ms(const char *s, int64_t *out)
{
	static const char *const u[] = { "ms", "s", "m", "min", "h", NULL };
	static const int64_t sc[] = { 1, 1000, 60000, 60000, 3600000 };
	return parse_scaled(s, out, u, sc, 1000);
}

int cfg_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on", NULL };
	static const char *const no[] = { "0", "false", "no", "off", NULL };
	for (int i = 0; yes[i]; i++)
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
	for (int i = 0; no[i]; i++)
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	return -EINVAL;
}

static void set_err(char **errmsg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(char **errmsg, const char *fmt, ...)
{
	if (!errmsg)
		return;
	struct buf b = BUF_INIT(4096);
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(*errmsg);
	*errmsg = buf_detach(&b, NULL);
}

static const char *type_word(enum cfg_type t)
{
	switch (t) {
	case CFG_T_BOOL: return "BOOL";
	case CFG_T_INT: return "N";
	case CFG_T_SIZE: return "SIZE";
	case CFG_T_DURATION: return "TIME";
	case CFG_T_STRING: return "STR";
	default: return "?";
	}
}

static const struct cfg_opt *find_opt(const struct cfg_program *prog, const char *name, size_t len)
{
	for (const struct cfg_opt *o = prog->opts; o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return o;
	/* Accept '_' for '-' so file keys may be written either way. */
	for (const struct cfg_opt *o = prog->opts; o->name; o++) {
		if (strlen(o->name) != len)
			continue;
		size_t i;
		for (i = 0; i < len; i++) {
			char a = o->name[i] == '_' ? '-' : o->name[i];
			char b = name[i] == '_' ? '-' : name[i];
			if (a != b)
				break;
		}
		if (i == len)
			return o;
	}
	return NULL;
}

static int apply(const struct cfg_opt *o, void *obj, const char *value, char **errmsg)
{
	char *field = (char *)obj + o->offset;
	int64_t v = 0;
	int rc = 0;

	switch (o->type) {
	case CFG_T_BOOL: {
		bool bv = false;
		if (value && cfg_parse_bool(value, &bv)) {
			set_err(errmsg, "'%s' takes true or false, not '%s'", o->name, value);
			return -EINVAL;
		}
		*(bool *)field = value ? bv : false;
		return 0;
	}
	case CFG_T_STRING: {
		char **sp = (char **)field;
		char *copy = NULL;
		if (value && !(copy = strdup(value)))
			return -ENOMEM;
		free(*sp);
		*sp = copy;
		return 0;
	}
	case CFG_T_INT:
		rc = value ? cfg_parse_int(value, &v) : 0;
		break;
	case CFG_T_SIZE:
		rc = value ? cfg_parse_size(value, &v) : 0;
		break;
	case CFG_T_DURATION:
		rc = value ? cfg_parse_duration_ms(value, &v) : 0;
		break;
	default:
		return -EINVAL;
	}
	if (rc) {
		set_err(errmsg, "'%s' expects %s, not '%s'", o->name,
			o->type == CFG_T_SIZE ? "a size such as 512k, 64m or 2g" :
			o->type == CFG_T_DURATION ? "a time such as 500ms, 30s or 5m" : "an integer",
			value);
		return -EINVAL;
	}
	if (v < o->min || v > o->max) {
		set_err(errmsg, "'%s' must be between %" PRId64 " and %" PRId64 ", not %s",
			o->name, o->min, o->max, value);
		return -ERANGE;
	}
	*(int64_t *)field = v;
	return 0;
}

int cfg_defaults(const struct cfg_program *prog, void *obj)
{
	for (const struct cfg_opt *o = prog->opts; o->name; o++) {
		if (o->type == CFG_T_STRING)
			*(char **)((char *)obj + o->offset) = NULL;
		int rc = apply(o, obj, o->def, NULL);
		if (rc)
			return rc;
	}
	return 0;
}

int cfg_set(const struct cfg_program *prog, void *obj, const char *name, const char *value, char **errmsg)
{
	const struct cfg_opt *o = find_opt(prog, name, strlen(name));
	if (!o) {
		set_err(errmsg, "unknown setting '%s'; see %s --help", name, prog->name);
		return -ENOENT;
	}
	return apply(o, obj, value, errmsg);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int cfg_load_file(const struct cfg_program *prog, void *obj, const char *path, char **errmsg)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = errno;
		set_err(errmsg, "cannot open config file '%s': %s", path, strerror(e));
		return -e;
	}
	char line[4096];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			set_err(errmsg, "%s:%d: line longer than %zu bytes", path, lineno, sizeof(line) - 1);
			rc = -EINVAL;
			break;
		}
		char *s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			set_err(errmsg, "%s:%d: expected 'key = value', got '%s'", path, lineno, s);
			rc = -EINVAL;
			break;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		char *sub = NULL;
		rc = cfg_set(prog, obj, key, val, &sub);
		if (rc) {
			set_err(errmsg, "%s:%d: %s", path, lineno, sub ? sub : "invalid value");
			free(sub);
			rc = -EINVAL;
			break;
		}
	}
	fclose(f);
	return rc;
}

void cfg_print_help(const struct cfg_program *prog)
{
	printf("usage: %s %s\n\n", prog->name, prog->usage ? prog->usage : "[options]");
	if (prog->summary)
		printf("%s\n\n", prog->summary);
	printf("options:\n");
	for (const struct cfg_opt *o = prog->opts; o->name; o++) {
		char flag[96];
		if (o->type == CFG_T_BOOL)
			snprintf(flag, sizeof(flag), "%s%c%s--%s", o->short_name ? "-" : "",
				 o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ", o->name);
		else
			snprintf(flag, sizeof(flag), "%s%c%s--%s=%s", o->short_name ? "-" : "",
				 o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ", o->name,
				 type_word(o->type));
		printf("  %-30s %s", flag, o->help ? o->help : "");
		if (o->def)
			printf(" (default: %s)", o->def);
		printf("\n");
	}
	printf("  %-30s %s\n", "-h, --help", "show this help and exit");
}

int cfg_parse_args(const struct cfg_program *prog, void *obj, int argc, char **argv)
{
	char *err = NULL;
	if (cfg_defaults(prog, obj)) {
		fprintf(stderr, "%s: error: bad built-in default (a bug)\n", prog->name);
		exit(2);
	}
	/* First pass: --config FILE, so that flags override the file. */
	const struct cfg_opt *cfgopt = find_opt(prog, "config", 6);
	if (cfgopt) {
		for (int i = 1; i < argc; i++) {
			const char *path = NULL;
			if (!strcmp(argv[i], "--"))
				break;
			if (!strncmp(argv[i], "--config=", 9))
				path = argv[i] + 9;
			else if (!strcmp(argv[i], "--config") && i + 1 < argc)
				path = argv[i + 1];
			if (path && cfg_load_file(prog, obj, path, &err)) {
				fprintf(stderr, "%s: error: %s\n", prog->name, err);
				exit(2);
			}
		}
	}
	int i;
	for (i = 1; i < argc; i++) {
		char *a = argv[i];
		const struct cfg_opt *o = NULL;
		const char *val = NULL;
		bool negate = false;
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			cfg_print_help(prog);
			exit(0);
		}
		if (a[0] != '-' || a[1] == '\0')
			break; /* first positional */
		if (a[1] == '-') {
			const char *name = a + 2;
			const char *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			o = find_opt(prog, name, len);
			if (!o && !eq && !strncmp(name, "no-", 3)) {
				o = find_opt(prog, name + 3, len - 3);
				if (o && o->type == CFG_T_BOOL)
					negate = true;
				else
					o = NULL;
			}
			if (eq)
				val = eq + 1;
		} else if (a[2] == '\0') {
			for (const struct cfg_opt *p = prog->opts; p->name; p++)
				if (p->short_name == a[1])
					o = p;
		}
		if (!o) {
			fprintf(stderr, "%s: error: unknown option '%s'; see '%s --help'\n", prog->name, a, prog->name);
			exit(2);
		}
		if (o->type == CFG_T_BOOL && !val) {
			val = negate ? "false" : "true";
		} else if (!val) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: error: option '%s' needs a value\n", prog->name, a);
				exit(2);
			}
			val = argv[++i];
		}
		if (apply(o, obj, val, &err)) {
			fprintf(stderr, "%s: error: %s\n", prog->name, err ? err : "bad value");
			free(err);
			exit(2);
		}
	}
	free(err);
	return i;
}

void cfg_release(const struct cfg_program *prog, void *obj)
{
	for (const struct cfg_opt *o = prog->opts; o->name; o++)
		if (o->type == CFG_T_STRING) {
			char **sp = (char **)((char *)obj + o->offset);
			free(*sp);
			*sp = NULL;
		}
}
