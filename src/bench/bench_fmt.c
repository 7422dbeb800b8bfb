/*
 * bench_fmt.c: IOR's and mdtest's output formats, statistics and data
 * pattern (see bench_fmt.h).  The field widths below are IOR's and mdtest's
 * own; tests/unit/test_bench.c compares our lines with lines of real output.
 */
#include "bench/bench_fmt.h"

#include <math.h>
#include <string.h>
#include <time.h>

static void stats(const double *v, int n, struct bench_stats *out, bool sample)
{
	double sum = 0, var = 0;
	out->max = v[0];
	out->min = v[0];
	for (int i = 0; i < n; i++) {
		sum += v[i];
		if (v[i] > out->max)
			out->max = v[i];
		if (v[i] < out->min)
			out->min = v[i];
	}
	out->mean = sum / n;
	for (int i = 0; i < n; i++)
		var += (v[i] - out->mean) * (v[i] - out->mean);
	if (sample)
		out->sd = n > 1 ? sqrt(var / (n - 1)) : 0;
	else
		out->sd = sqrt(var / n);
}

void bench_stats_ior(const double *v, int n, struct bench_stats *out)
{
	stats(v, n, out, false);
}

void bench_stats_mdtest(const double *v, int n, struct bench_stats *out)
{
	stats(v, n, out, true);
}

void bench_size_text(int64_t v, char *out, size_t outlen)
{
	const int64_t gib = 1LL << 30, mib = 1LL << 20;
	/* IOR says "4096 bytes" below a MiB: it has no KiB step. */
	if (v >= gib) {
		if (v % gib)
			snprintf(out, outlen, "%.2f GiB", (double)v / (double)gib);
		else
			snprintf(out, outlen, "%lld GiB", (long long)(v / gib));
	} else if (v >= mib) {
		if (v % mib)
			snprintf(out, outlen, "%.2f MiB", (double)v / (double)mib);
		else
			snprintf(out, outlen, "%lld MiB", (long long)(v / mib));
	} else {
		snprintf(out, outlen, "%lld bytes", (long long)v);
	}
}

void bench_time_text(char *out, size_t outlen)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	if (!strftime(out, outlen, "%a %b %e %H:%M:%S %Y", &tm) && outlen)
		out[0] = '\0';
}

int ior_fmt_double(struct buf *b, double v)
{
	if (v < 0)
		return buf_printf(b, "%-10s ", "-");
	/* IOR's precision steps: small numbers keep their significant digits. */
	int prec = v < 1 ? 6 : v < 3600 ? 2 : 0;
	return buf_printf(b, "%-10.*f ", prec, v);
}

int ior_fmt_table_header(struct buf *b)
{
	return buf_puts(b, "\naccess    bw(MiB/s)  IOPS       Latency(s)  block(KiB) xfer(KiB)  open(s)    "
			   "wr/rd(s)   close(s)   total(s)   iter\n"
			   "------    ---------  ----       ----------  ---------- ---------  --------   "
			   "--------   --------   --------   ----\n");
}

int ior_fmt_row(struct buf *b, const struct ior_row *r)
{
	int rc = buf_printf(b, "%-10s", r->access);
	const double v[] = { r->bw_mib, r->iops, r->latency, r->block_kib, r->xfer_kib,
			     r->open_s, r->rdwr_s, r->close_s, r->total_s };
	for (size_t i = 0; !rc && i < sizeof(v) / sizeof(v[0]); i++) {
		rc = ior_fmt_double(b, v[i]);
		/* IOR's latency column is one wider than the others. */
		if (!rc && i == 2)
			rc = buf_puts(b, " ");
	}
	return rc ? rc : buf_printf(b, "%-4d\n", r->iter);
}

int ior_fmt_remove_row(struct buf *b, double total_s, int iter)
{
	int rc = buf_puts(b, "remove    -          -          -           -          -          -          "
			     "-          -          ");
	if (!rc)
		rc = ior_fmt_double(b, total_s);
	return rc ? rc : buf_printf(b, "%-4d\n", iter);
}

int ior_fmt_max(struct buf *b, bool write, double bps)
{
	return buf_printf(b, "%s %.2f MiB/sec (%.2f MB/sec)\n", write ? "Max Write:" : "Max Read: ",
			  bps / BENCH_MIB, bps / BENCH_MB);
}

int ior_fmt_summary_header(struct buf *b)
{
	return buf_printf(b, "\nSummary of all tests:\n"
			     "%-9s %10s %10s %10s %10s %10s %10s %10s %10s %10s"
			     " Stonewall(s) Stonewall(MiB) Test# #Tasks tPN reps fPP reord reordoff reordrand seed segcnt "
			     "%8s %8s %9s %5s RefNum\n",
			  "Operation", "Max(MiB)", "Min(MiB)", "Mean(MiB)", "StdDev", "Max(OPs)", "Min(OPs)",
			  "Mean(OPs)", "StdDev", "Mean(s)", " blksiz", "xsize", "aggs(MiB)", "API");
}

int ior_fmt_summary_row(struct buf *b, const struct ior_summary *s)
{
	/* Stonewalling is not implemented, so its two columns say NA as IOR's do. */
	return buf_printf(b, "%-9s %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f %10.5f %10s %13s "
			     "%5d %6d %3d %4d %3d %5d %8d %9d %4d %6lld %8lld %8lld %9.1f %3s %6d\n",
			  s->operation, s->bw.max / BENCH_MIB, s->bw.min / BENCH_MIB, s->bw.mean / BENCH_MIB,
			  s->bw.sd / BENCH_MIB, s->ops.max, s->ops.min, s->ops.mean, s->ops.sd, s->mean_time,
			  "NA", "NA", s->test_id, s->tasks, s->tasks_per_node, s->reps, s->fpp, s->reorder,
			  s->task_offset, 0, 0, (long long)s->segments, (long long)s->block,
			  (long long)s->xfer, s->agg_mib, s->api, 0);
}

void ior_pattern_fill(void *buf, size_t nbytes, int rank, uint32_t seed, int64_t offset)
{
	uint64_t *w = buf;
	uint64_t hi = (uint64_t)(uint32_t)rank << 32 | seed;
	for (size_t i = 0; i < nbytes / 8; i++)
		w[i] = (i & 1) ? (uint64_t)offset + i * 8 : hi;
}

uint64_t ior_pattern_check(const void *buf, size_t nbytes, int rank, uint32_t seed, int64_t offset,
			   size_t *first_bad)
{
	const unsigned char *p = buf;
	uint64_t hi = (uint64_t)(uint32_t)rank << 32 | seed, bad = 0;
	for (size_t i = 0; i < nbytes / 8; i++) {
		uint64_t want = (i & 1) ? (uint64_t)offset + i * 8 : hi, got;
		memcpy(&got, p + i * 8, 8);
		if (got != want) {
			if (!bad && first_bad)
				*first_bad = i * 8;
			bad++;
		}
	}
	return bad;
}

const char *mdtest_op_name(enum mdtest_op op)
{
	static const char *const names[MDTEST_NOPS] = {
		"Directory creation", "Directory stat", "Directory rename", "Directory removal",
		"File creation",      "File stat",      "File read",        "File removal",
		"Tree creation",      "Tree removal",
	};
	return (unsigned)op < MDTEST_NOPS ? names[op] : "?";
}

int mdtest_fmt_summary_header(struct buf *b, int iterations)
{
	return buf_printf(b, "\nSUMMARY rate (in ops/sec): (of %d iterations)\n"
			     "   Operation                     Max            Min           Mean        Std Dev\n"
			     "   ---------                     ---            ---           ----        -------\n",
			  iterations);
}

int mdtest_fmt_summary_row(struct buf *b, enum mdtest_op op, const struct bench_stats *s, int iterations)
{
	double sd = iterations == 1 ? 0 : s->sd;
	if (op >= MDTEST_TREE_CREATE)
		return buf_printf(b, "   %-22s %14.3f %14.3f %14.3f %14.3f\n", mdtest_op_name(op), s->max,
				  s->min, s->mean, sd);
	return buf_printf(b, "   %-18s     %14.3f %14.3f %14.3f %14.3f\n", mdtest_op_name(op), s->max, s->min,
			  s->mean, sd);
}
