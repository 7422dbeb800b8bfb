/*
 * config.h: table-driven configuration for every Stratus program.
 *
 * A program describes its settings once, in a table of struct cfg_opt (name,
 * type, default, bounds, help, where the value lives in its settings struct).
 * From that table come the defaults, the `key = value` file reader, the
 * command-line parser (`--key=value`, `--key value`, `-k value`, `--no-key`
 * for booleans) and the generated `--help`.  Order of precedence: defaults,
 * then the file named by --config (if the table has a "config" entry), then
 * the flags.
 *
 * Example:
 *	struct opts { int64_t port; char *dir; bool foreground; };
 *	static const struct cfg_opt tbl[] = {
 *		CFG_INT("port", 'p', struct opts, port, "7000", 0, 65535, "TCP port to listen on (0: any free port)"),
 *		CFG_STR("dir", 'd', struct opts, dir, NULL, "state directory"),
 *		CFG_BOOL("foreground", 'f', struct opts, foreground, "false", "stay in the foreground"),
 *		CFG_END
 *	};
 */
#ifndef STRATUS_CONFIG_H
#define STRATUS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cfg_type {
	CFG_T_END = 0,
	CFG_T_BOOL,     /* bool */
	CFG_T_INT,      /* int64_t, decimal or 0x hex */
	CFG_T_SIZE,     /* int64_t bytes, with k/m/g/t suffixes (powers of 1024) */
	CFG_T_DURATION, /* int64_t milliseconds, with ms/s/m/h suffixes (bare number: seconds) */
	CFG_T_STRING,   /* char *, malloc'd, freed by cfg_release */
};

struct cfg_opt {
	const char *name;
	char short_name;     /* 0 for none */
	enum cfg_type type;
	size_t offset;       /* offsetof() into the caller's settings struct */
	const char *def;     /* default as text; NULL: unset (strings) or 0 */
	int64_t min, max;    /* bounds for the numeric types */
	const char *help;
};

#define CFG_BOOL(n, s, T, f, d, h) { n, s, CFG_T_BOOL, offsetof(T, f), d, 0, 1, h }
#define CFG_INT(n, s, T, f, d, lo, hi, h) { n, s, CFG_T_INT, offsetof(T, f), d, lo, hi, h }
#define CFG_SIZE(n, s, T, f, d, lo, hi, h) { n, s, CFG_T_SIZE, offsetof(T, f), d, lo, hi, h }
#define CFG_DURATION(n, s, T, f, d, lo, hi, h) { n, s, CFG_T_DURATION, offsetof(T, f), d, lo, hi, h }
#define CFG_STR(n, s, T, f, d, h) { n, s, CFG_T_STRING, offsetof(T, f), d, 0, 0, h }
#define CFG_END { NULL, 0, CFG_T_END, 0, NULL, 0, 0, NULL }

struct cfg_program {
	const char *name;     /* program name for usage and errors */
	const char *usage;    /* e.g. "[options] MOUNTPOINT" */
	const char *summary;  /* one paragraph shown by --help */
	const struct cfg_opt *opts;
};

/* Set every option to its default.  0 or -errno (a bad default is a bug: -EINVAL). */
int cfg_defaults(const struct cfg_program *prog, void *obj);

/*
 * Read `key = value` lines (# comments, blank lines) from PATH into obj.
 * Errors are written to *errmsg (malloc'd, caller frees) as
 * "FILE:LINE: what was wrong" and -EINVAL (or -errno for I/O) is returned.
 */
int cfg_load_file(const struct cfg_program *prog, void *obj, const char *path, char **errmsg);

/* Set one option from text, e.g. from an API or a mount option string. */
int cfg_set(const struct cfg_program *prog, void *obj, const char *name, const char *value, char **errmsg);

/*
 * Parse argv: defaults, then --config FILE if any, then the flags.  On
 * success returns the index of the first positional argument (options and
 * positionals may not be mixed after a "--").  --help prints the help and
 * exits 0; a bad flag prints one line naming it and exits 2.
 */
int cfg_parse_args(const struct cfg_program *prog, void *obj, int argc, char **argv);

/* Write the generated help to stdout. */
void cfg_print_help(const struct cfg_program *prog);

/* Free the strings the table owns in obj. */
void cfg_release(const struct cfg_program *prog, void *obj);

/* Parsers shared with other code (IOR's -b 4g, mount options...). 0 or -EINVAL/-ERANGE. */
int cfg_parse_size(const char *s, int64_t *out);
int cfg_parse_duration_ms(const char *s, int64_t *out);
int cfg_parse_int(const char *s, int64_t *out);
int cfg_parse_bool(const char *s, bool *out);

#endif
