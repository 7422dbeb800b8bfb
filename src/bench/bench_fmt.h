/*
 * bench_fmt.h: what stratus-ior and stratus-mdtest share that needs no MPI:
 * IOR's and mdtest's number and table formats, their statistics, and IOR's
 * seeded data pattern.
 *
 * The formats follow IOR 3.3/4.0 and mdtest 4.0 output byte for byte, so
 * that scripts written for IOR and mdtest read our output unchanged.  Every
 * function appends to a capped struct buf and returns 0 or -ENOBUFS/-ENOMEM.
 */
#ifndef STRATUS_BENCH_FMT_H
#define STRATUS_BENCH_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define BENCH_MIB 1048576.0
#define BENCH_MB 1000000.0
#define BENCH_KIB 1024.0

/* max, min, mean and standard deviation of n values (n >= 1). */
struct bench_stats {
	double max, min, mean, sd;
};
/* IOR's statistics: population standard deviation (divides by n). */
void bench_stats_ior(const double *v, int n, struct bench_stats *out);
/* mdtest's: sample standard deviation (divides by n-1), 0 for one value. */
void bench_stats_mdtest(const double *v, int n, struct bench_stats *out);

/* IOR's HumanReadable(.., BASE_TWO): "2.50 GiB", "32 MiB", "4096 bytes". */
void bench_size_text(int64_t v, char *out, size_t outlen);
/* IOR's CurrentTimeString: "Mon Mar  8 23:08:17 2021" (local time, no newline). */
void bench_time_text(char *out, size_t outlen);

/* ---- IOR ---- */
/* IOR's PPDouble: left-justified, width 10, 6/2/0 decimals by magnitude, then a space. */
int ior_fmt_double(struct buf *b, double v);
/* The two header lines of IOR's results table (with the blank line before). */
int ior_fmt_table_header(struct buf *b);
struct ior_row {
	const char *access;  /* "write" or "read" */
	double bw_mib;       /* MiB/s over first open to last close */
	double iops;         /* transfers per second of the data phase */
	double latency;      /* best per-task mean seconds per transfer */
	double block_kib, xfer_kib;
	double open_s, rdwr_s, close_s, total_s;
	int iter;
};
int ior_fmt_row(struct buf *b, const struct ior_row *r);
/* The "remove" line, which has only the total time. */
int ior_fmt_remove_row(struct buf *b, double total_s, int iter);
/* "Max Write: X MiB/sec (Y MB/sec)" or "Max Read:  ..." from bytes per second. */
int ior_fmt_max(struct buf *b, bool write, double bytes_per_s);
/* "\nSummary of all tests:\n" and the column header line. */
int ior_fmt_summary_header(struct buf *b);
struct ior_summary {
	const char *operation; /* "write" / "read" */
	struct bench_stats bw; /* bytes per second */
	struct bench_stats ops; /* transfers per second */
	double mean_time;
	int test_id, tasks, tasks_per_node, reps, fpp, reorder, task_offset;
	int64_t segments, block, xfer;
	double agg_mib;
	const char *api;
};
int ior_fmt_summary_row(struct buf *b, const struct ior_summary *s);

/*
 * IOR's data pattern ("timestamp" packets): 8-byte words, the even ones
 * (rank << 32 | seed), the odd ones the byte offset of the word, counted from
 * `offset` (the file offset with -l, else 0 as IOR does).  nbytes must be a
 * multiple of 8.
 */
void ior_pattern_fill(void *buf, size_t nbytes, int rank, uint32_t seed, int64_t offset);
/*
 * Compare buf with the pattern; returns how many 8-byte words differ and,
 * if any, the byte position of the first in *first_bad.
 */
uint64_t ior_pattern_check(const void *buf, size_t nbytes, int rank, uint32_t seed, int64_t offset,
			   size_t *first_bad);

/* ---- mdtest ---- */
/* mdtest's operations, in its order; MDTEST_DIR_RENAME is never printed. */
enum mdtest_op {
	MDTEST_DIR_CREATE = 0,
	MDTEST_DIR_STAT,
	MDTEST_DIR_RENAME,
	MDTEST_DIR_REMOVE,
	MDTEST_FILE_CREATE,
	MDTEST_FILE_STAT,
	MDTEST_FILE_READ,
	MDTEST_FILE_REMOVE,
	MDTEST_TREE_CREATE,
	MDTEST_TREE_REMOVE,
	MDTEST_NOPS
};
const char *mdtest_op_name(enum mdtest_op op);
/* "\nSUMMARY rate (in ops/sec): (of N iterations)" and the two header lines. */
int mdtest_fmt_summary_header(struct buf *b, int iterations);
/* One line of that table (the tree lines use mdtest's wider name column). */
int mdtest_fmt_summary_row(struct buf *b, enum mdtest_op op, const struct bench_stats *s, int iterations);

#endif
