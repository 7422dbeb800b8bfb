/*
 * bench_opt.c: the command line of the benchmarks (bench_opt.h).
 */
#include "bench/bench_opt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"

static int refuse(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int bench_opt_int(char flag, const char *val, int64_t lo, int64_t hi, bool size, int64_t *out,
		  char *err, size_t errlen)
{
	int64_t v;
	int rc = size ? cfg_parse_size(val, &v) : cfg_parse_int(val, &v);
	if (rc || v < lo || v > hi)
		return refuse(err, errlen, "option '-%c' expects %s from %" PRId64 " to %" PRId64 ", not '%s'", flag,
			      size ? "a size" : "an integer", lo, hi, val);
	*out = v;
	return 0;
}

int bench_opt_size(char flag, const char *val, int64_t *out, char *err, size_t errlen)
{
	int64_t v;
	if (cfg_parse_size(val, &v))
		return refuse(err, errlen, "option '-%c' expects a size such as 4k, 32m or 4g, not '%s'", flag, val);
	*out = v;
	return 0;
}

bool bench_opt_flag(const struct bench_flag *tbl, int c)
{
	for (; tbl->flag; tbl++)
		if (tbl->flag == c) {
			*tbl->on = true;
			return true;
		}
	return false;
}

enum bench_opt_result bench_opt_common(struct bench_cli *cli, int c, const char *arg, int opt,
				       const char *word, char *err, size_t errlen)
{
	switch (c) {
	case 'J':
		if (arg && *arg)
			cli->json_path = arg;
		else
			cli->json = true;
		return BENCH_OPT_TAKEN;
	case 'h':
		return BENCH_OPT_HELP;
	case ':':
		refuse(err, errlen, "option '-%c' needs a value; see '%s -h'", opt, cli->prog);
		return BENCH_OPT_BAD;
	}
	if (opt && strchr(cli->unsupported, opt))
		refuse(err, errlen, "%s's option '-%c' is not supported by %s; see '%s -h'", cli->tool, opt, cli->prog,
		       cli->prog);
	else if (opt)
		refuse(err, errlen, "unknown option '-%c'; see '%s -h'", opt, cli->prog);
	else
		refuse(err, errlen, "unknown option '%s'; see '%s -h'", word ? word : "?", cli->prog);
	return BENCH_OPT_BAD;
}

int bench_opt_no_operand(const struct bench_cli *cli, int argc, char **argv, int optind, char *err,
			 size_t errlen)
{
	if (optind < argc)
		return refuse(err, errlen, "unexpected argument '%s'; %s", argv[optind], cli->operand);
	return 0;
}

int bench_opt_json_check(const struct bench_cli *cli, char *err, size_t errlen)
{
	if (cli->json && cli->json_path)
		return refuse(err, errlen, "give either --json or --json=FILE, not both");
	return 0;
}
