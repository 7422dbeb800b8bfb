/*
 * bench_opt.h: the command line that stratus-ior and stratus-mdtest share,
 * without MPI (tests/unit/test_bench.c checks it): integer and size values
 * with their bounds, --json[=FILE], -h, and the one-line reason for what
 * getopt_long did not take, in IOR's and mdtest's words.
 *
 * Functions that can refuse write the reason into err (errlen bytes) and
 * return -EINVAL, else 0; the program prints it (rank 0) and exits 1.
 */
#ifndef STRATUS_BENCH_OPT_H
#define STRATUS_BENCH_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What both benchmarks' command lines have, and how they name themselves. */
struct bench_cli {
	const char *prog;        /* "stratus-ior" */
	const char *tool;        /* "IOR": whose options `unsupported` lists */
	const char *unsupported; /* the tool's flags we do not implement, to say so plainly */
	const char *operand;     /* where a stray argument belongs: "the test file is given with -o" */
	bool json;               /* --json: a JSON document instead of the text */
	const char *json_path;   /* --json=FILE: the text, and the JSON document into FILE */
};

/* The long options of both, for getopt_long: --json[=FILE] ('J'), --help ('h'). */
#define BENCH_LONG_OPTIONS \
	{ "json", optional_argument, NULL, 'J' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }

/* VAL of option -FLAG: an integer (size: a size with k, m, g suffixes) from lo to hi, into *out. */
int bench_opt_int(char flag, const char *val, int64_t lo, int64_t hi, bool size, int64_t *out,
		  char *err, size_t errlen);
/* VAL of option -FLAG: a size with any value (the caller checks its own bounds), into *out. */
int bench_opt_size(char flag, const char *val, int64_t *out, char *err, size_t errlen);

/* An option without a value that turns something on: -F, -w... */
struct bench_flag {
	char flag;
	bool *on;
};
/* If c is one of TBL's flags (TBL ends with { 0, NULL }), turn it on and return true. */
bool bench_opt_flag(const struct bench_flag *tbl, int c);

enum bench_opt_result {
	BENCH_OPT_TAKEN,  /* --json[=FILE]: recorded in cli */
	BENCH_OPT_HELP,   /* -h / --help: print the help and exit 0 */
	BENCH_OPT_BAD,    /* a missing value or an unknown option: err says which */
};
/*
 * What getopt_long returned (c; arg = optarg, opt = optopt, word =
 * argv[optind - 1]) for an option that is not the program's own.
 */
enum bench_opt_result bench_opt_common(struct bench_cli *cli, int c, const char *arg, int opt,
				       const char *word, char *err, size_t errlen);

/* After the options: no operand is left (argv[optind..argc-1]). */
int bench_opt_no_operand(const struct bench_cli *cli, int argc, char **argv, int optind, char *err,
			 size_t errlen);
/* --json and --json=FILE were not both given. */
int bench_opt_json_check(const struct bench_cli *cli, char *err, size_t errlen);

#endif
