/*
 * mdtest.c: stratus-mdtest, an mdtest-compatible metadata benchmark (MPI).
 *
 * Each of N tasks creates, stats, reads and removes -n directories and -n
 * files, as mdtest does, in one directory shared by all tasks or (-u) one per
 * task, under DIR/test-dir.0-ITER/.  Each phase is timed as mdtest times it
 * (barrier, operations, barrier); its rate is the slowest task's items per
 * second times the number of tasks, and the SUMMARY table gives max, min,
 * mean and standard deviation over the iterations.  A phase that fails on
 * one task is agreed on by all (bench_mpi.h), so no task is left waiting.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <mpi.h>

#include "bench/bench_fmt.h"
#include "bench/bench_mpi.h"
#include "common/buf.h"
#include "common/util.h"

#define PROG "stratus-mdtest"

struct md_opts {
	int64_t items, iterations, write_bytes, read_bytes;
	bool files, dirs;                    /* -F, -D (neither: both) */
	bool create, stat, read, remove;     /* -C -T -E -r (none: all) */
	bool unique;
	int verbose;
	const char *dir;
	struct bench_cli cli; /* -h, --json[=FILE] */
};

static struct md_opts opt;
static char *io_buf;

static const char *const help_lines[] = {
	"usage: " PROG " [mdtest options]      (run it with mpirun/mpiexec/srun)",
	"",
	"An mdtest-compatible metadata benchmark: options, rates and output as mdtest's.",
	"",
	"  -n N       items per task: each task makes N directories and N files (default 1000)",
	"  -d DIR     directory to test in (default ./out); made if missing",
	"  -F         files only",
	"  -D         directories only        (neither -F nor -D: both)",
	"  -C         create only",
	"  -T         stat only",
	"  -E         read only",
	"  -r         remove only             (none of -C -T -E -r: all four)",
	"  -u         a directory of its own for each task",
	"  -i N       iterations (default 1)",
	"  -w BYTES   bytes written to each file when it is created (default 0)",
	"  -e BYTES   bytes read from each file in the read phase (default 0)",
	"  -v         more output",
	"  --json     print a JSON document instead of the text",
	"  --json=FILE  print the text and write the JSON document to FILE",
	"  -h, --help show this help",
	"",
	"Phases run separately (-C, then -T, then -r) must use the same -d, -n, -u and tasks.",
	NULL,
};

static int parse_options(int argc, char **argv)
{
	static const struct option longopts[] = { BENCH_LONG_OPTIONS };
	/* mdtest's options without a value (but -v, which counts) */
	static const struct bench_flag flags[] = {
		{ 'F', &opt.files }, { 'D', &opt.dirs }, { 'C', &opt.create }, { 'T', &opt.stat },
		{ 'E', &opt.read }, { 'r', &opt.remove }, { 'u', &opt.unique }, { 0, NULL },
	};
	int c;

	opt.items = 1000;
	opt.iterations = 1;
	opt.dir = "./out";
	opt.cli = (struct bench_cli){ PROG, "mdtest", "aAbBcfgGIkKlLMNpPqRsStUVWxXyYzZ", "the test directory is given with -d" };
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":CDd:Ee:Fhi:n:rTuvw:", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (bench_int_opt('n', optarg, 0, 100000000, false, &opt.items))
				return -1;
			break;
		case 'i':
			if (bench_int_opt('i', optarg, 1, 100000, false, &opt.iterations))
				return -1;
			break;
		case 'w':
			if (bench_int_opt('w', optarg, 0, 1LL << 30, true, &opt.write_bytes))
				return -1;
			break;
		case 'e':
			if (bench_int_opt('e', optarg, 0, 1LL << 30, true, &opt.read_bytes))
				return -1;
			break;
		case 'd':
			if (!*optarg) {
				bench_usage_error("option '-d' needs a directory");
				return -1;
			}
			if (strlen(optarg) > PATH_MAX - 128) {
				bench_usage_error("the test directory (-d) is longer than %d bytes", PATH_MAX - 128);
				return -1;
			}
			opt.dir = optarg;
			break;
		case 'v': opt.verbose++; break;
		default:
			if (!bench_opt_flag(flags, c) && bench_cli_option(&opt.cli, c, argv, help_lines))
				return -1;
			break;
		}
	}
	if (bench_cli_no_operand(&opt.cli, argc, argv))
		return -1;
	if (!opt.files && !opt.dirs)
		opt.files = opt.dirs = true;
	if (!opt.create && !opt.stat && !opt.read && !opt.remove)
		opt.create = opt.stat = opt.read = opt.remove = true;
	if (opt.read_bytes > 0 && opt.create && opt.read && opt.read_bytes > opt.write_bytes) {
		bench_usage_error("read bytes (-e %" PRId64 ") must not exceed the bytes written (-w %" PRId64 ")",
				  opt.read_bytes, opt.write_bytes);
		return -1;
	}
	if (bench_cli_json_check(&opt.cli))
		return -1;
	return 0;
}

/* ---- names ---- */

static void base_dir(char *out, size_t len, int iter)
{
	snprintf(out, len, "%s/test-dir.0-%d", opt.dir, iter);
}

/* The tree directory of a task, relative to the test directory -d. */
static void tree_rel(char *out, size_t len, int iter, int task)
{
	if (opt.unique)
		snprintf(out, len, "test-dir.0-%d/mdtest_tree.%d.0", iter, task);
	else
		snprintf(out, len, "test-dir.0-%d/mdtest_tree.0", iter);
}

static void tree_dir(char *out, size_t len, int iter, int task)
{
	char rel[96];
	tree_rel(rel, sizeof(rel), iter, task);
	snprintf(out, len, "%s/%s", opt.dir, rel);
}

static void item_path(char *out, size_t len, int iter, bool file, int64_t i)
{
	char rel[96];
	tree_rel(rel, sizeof(rel), iter, bench.rank);
	snprintf(out, len, "%s/%s/%s.mdtest.%d.%" PRId64, opt.dir, rel, file ? "file" : "dir", bench.rank, i);
}

/* ---- operations ---- */

static int do_op(enum mdtest_op op, const char *path)
{
	struct stat st;
	int fd;
	switch (op) {
	case MDTEST_DIR_CREATE:
		if (mkdir(path, 0755) < 0)
			return bench_fail("cannot create directory '%s': %s", path, strerror(errno));
		return 0;
	case MDTEST_DIR_STAT:
	case MDTEST_FILE_STAT:
		if (stat(path, &st) < 0)
			return bench_fail("cannot stat '%s': %s%s", path, strerror(errno),
					  errno == ENOENT ? "; create it first (-C) with the same -d -n -u and tasks" : "");
		return 0;
	case MDTEST_DIR_REMOVE:
		if (rmdir(path) < 0)
			return bench_fail("cannot remove directory '%s': %s", path, strerror(errno));
		return 0;
	case MDTEST_FILE_CREATE:
		fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0)
			return bench_fail("cannot create file '%s': %s", path, strerror(errno));
		if (opt.write_bytes > 0 && write(fd, io_buf, (size_t)opt.write_bytes) != opt.write_bytes) {
			int e = errno;
			close(fd);
			return bench_fail("cannot write %" PRId64 " bytes to '%s': %s", opt.write_bytes, path,
					  e ? strerror(e) : "short write");
		}
		if (close(fd) < 0)
			return bench_fail("cannot close '%s': %s", path, strerror(errno));
		return 0;
	case MDTEST_FILE_READ:
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return bench_fail("cannot open '%s' to read it: %s", path, strerror(errno));
		if (opt.read_bytes > 0 && read(fd, io_buf, (size_t)opt.read_bytes) != opt.read_bytes) {
			int e = errno;
			close(fd);
			return bench_fail("cannot read %" PRId64 " bytes from '%s': %s", opt.read_bytes, path,
					  e ? strerror(e) : "the file is shorter; was it written with -w?");
		}
		close(fd);
		return 0;
	case MDTEST_FILE_REMOVE:
		if (unlink(path) < 0)
			return bench_fail("cannot remove file '%s': %s", path, strerror(errno));
		return 0;
	default:
		return bench_fail("operation %d is not implemented (a bug)", (int)op);
	}
}

/*
 * One phase, timed as mdtest times it.  Returns the rate this iteration
 * contributes on rank 0 (slowest task's rate x tasks); *done is the number
 * of operations all tasks completed.
 */
static double run_phase(enum mdtest_op op, int iter, uint64_t *done)
{
	bool file = op >= MDTEST_FILE_CREATE;
	char path[PATH_MAX];
	uint64_t n = 0, total = 0;

	bench_barrier();
	double t0 = bench_now();
	for (int64_t i = 0; i < opt.items; i++) {
		item_path(path, sizeof(path), iter, file, i);
		if (do_op(op, path))
			break;
		n++;
	}
	bench_barrier();
	double t1 = bench_now();
	double rate = t1 > t0 ? (double)n / (t1 - t0) : 0, minrate = 0;
	MPI_Reduce(&rate, &minrate, 1, MPI_DOUBLE, MPI_MIN, 0, MPI_COMM_WORLD);
	MPI_Reduce(&n, &total, 1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
	*done = total;
	if (opt.verbose && bench.rank == 0 && !opt.cli.json) {
		printf("V-1: iteration %d: %-18s %" PRIu64 " items in %.6f s\n", iter, mdtest_op_name(op), total,
		       t1 - t0);
		fflush(stdout);
	}
	return minrate * bench.size;
}

static int mkdir_ok(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return bench_fail("cannot create directory '%s': %s", path, strerror(errno));
	return 0;
}

/* Make (or remove) the test tree; returns its rate on rank 0 (directories per second). */
static double tree_phase(bool create, int iter, uint64_t *done)
{
	char base[PATH_MAX], tree[PATH_MAX];
	base_dir(base, sizeof(base), iter);
	tree_dir(tree, sizeof(tree), iter, bench.rank);
	uint64_t count = opt.unique ? (uint64_t)bench.size : 1;

	bench_barrier();
	double t0 = bench_now();
	if (create) {
		if (bench.rank == 0) {
			int rc = util_mkdirs(opt.dir, 0755);
			if (rc)
				bench_fail("cannot create the test directory '%s': %s", opt.dir, strerror(-rc));
			else if (!mkdir_ok(base) && !opt.unique)
				mkdir_ok(tree);
		}
		if (opt.unique) {
			bench_barrier();
			if (!bench_failed())
				mkdir_ok(tree);
		}
	} else {
		if (opt.unique && rmdir(tree) < 0)
			bench_fail("cannot remove directory '%s': %s", tree, strerror(errno));
		bench_barrier();
		if (bench.rank == 0 && !bench_failed()) {
			if (!opt.unique && rmdir(tree) < 0)
				bench_fail("cannot remove directory '%s': %s", tree, strerror(errno));
			else if (rmdir(base) < 0)
				bench_fail("cannot remove directory '%s': %s", base, strerror(errno));
		}
	}
	bench_barrier();
	double t1 = bench_now();
	*done = count;
	return t1 > t0 ? (double)count / (t1 - t0) : 0;
}

/* ---- main ---- */

static void date_text(char *out, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	if (!strftime(out, len, "%m/%d/%Y %H:%M:%S", &tm) && len)
		out[0] = '\0';
}

int main(int argc, char **argv)
{
	bench_mpi_init(&argc, &argv, PROG);
	if (parse_options(argc, argv))
		bench_exit(2);

	int iters = (int)opt.iterations;
	int64_t io = opt.write_bytes > opt.read_bytes ? opt.write_bytes : opt.read_bytes;
	io_buf = calloc(1, (size_t)io + 1);
	double *rates = calloc((size_t)iters * MDTEST_NOPS, sizeof(double));
	uint64_t *items = calloc((size_t)iters * MDTEST_NOPS, sizeof(uint64_t));
	if (!io_buf || !rates || !items)
		bench_fail("out of memory for %d iterations", iters);
	if (bench_agree())
		bench_exit(1);
	memset(io_buf, 'm', (size_t)io);

	bool text = bench.rank == 0 && !opt.cli.json;
	struct buf out = BUF_INIT(1 << 20);
	char when[64];
	if (bench.rank == 0) {
		date_text(when, sizeof(when));
		buf_printf(&out, "-- started at %s --\n\n", when);
		buf_printf(&out, "Stratus mdtest (mdtest-4.0 output) was launched with %d total task(s) on %d node(s)\n",
			   bench.size, bench.nodes);
		buf_printf(&out, "Command line used: %s", argv[0]);
		for (int i = 1; i < argc; i++)
			buf_printf(&out, " '%s'", argv[i]);
		buf_printf(&out, "\n%-20s: %s\n", "Path", opt.dir);
		struct statvfs vfs;
		if (statvfs(opt.dir, &vfs) == 0 && vfs.f_blocks) {
			double total = (double)vfs.f_blocks * vfs.f_frsize, gib = 1024.0 * 1024 * 1024;
			buf_printf(&out, "%-20s: %.1f GiB   Used FS: %.1f%%   Inodes: %.1f Mi   Used Inodes: %.1f%%\n", "FS",
				   total / gib, 100.0 * (double)(vfs.f_blocks - vfs.f_bfree) / (double)vfs.f_blocks,
				   (double)vfs.f_files / 1048576.0,
				   vfs.f_files ? 100.0 * (double)(vfs.f_files - vfs.f_ffree) / (double)vfs.f_files : 0);
		}
		uint64_t n = (uint64_t)opt.items * (uint64_t)bench.size;
		buf_printf(&out, "%d tasks, %" PRIu64 " %s\n", bench.size, opt.files && opt.dirs ? 2 * n : n,
			   opt.files && opt.dirs ? "files/directories" : opt.files ? "files" : "directories");
		if (text) {
			fwrite(out.data, 1, out.len, stdout);
			fflush(stdout);
		}
		buf_reset(&out);
	}

	static const enum mdtest_op dir_ops[] = { MDTEST_DIR_CREATE, MDTEST_DIR_STAT, MDTEST_DIR_REMOVE };
	static const enum mdtest_op file_ops[] = { MDTEST_FILE_CREATE, MDTEST_FILE_STAT, MDTEST_FILE_READ,
						   MDTEST_FILE_REMOVE };
	for (int it = 0; it < iters; it++) {
		double *r = rates + (size_t)it * MDTEST_NOPS;
		uint64_t *c = items + (size_t)it * MDTEST_NOPS;
		if (opt.create) {
			r[MDTEST_TREE_CREATE] = tree_phase(true, it, &c[MDTEST_TREE_CREATE]);
			if (bench_agree())
				bench_exit(1);
		}
		for (int pass = 0; pass < 2; pass++) {
			bool files = pass == 1;
			if (files ? !opt.files : !opt.dirs)
				continue;
			const enum mdtest_op *ops = files ? file_ops : dir_ops;
			size_t nops = files ? 4 : 3;
			for (size_t k = 0; k < nops; k++) {
				enum mdtest_op op = ops[k];
				bool want = (op == MDTEST_DIR_CREATE || op == MDTEST_FILE_CREATE) ? opt.create :
					    (op == MDTEST_DIR_STAT || op == MDTEST_FILE_STAT) ? opt.stat :
					    op == MDTEST_FILE_READ ? opt.read : opt.remove;
				if (!want)
					continue;
				r[op] = run_phase(op, it, &c[op]);
				if (bench_agree())
					bench_exit(1);
			}
		}
		if (opt.remove) {
			r[MDTEST_TREE_REMOVE] = tree_phase(false, it, &c[MDTEST_TREE_REMOVE]);
			if (bench_agree())
				bench_exit(1);
		}
	}

	if (bench.rank == 0) {
		struct buf json = BUF_INIT(1 << 20);
		double *v = calloc((size_t)iters, sizeof(double));
		buf_puts(&json, "{\n  \"program\": \"stratus-mdtest\",\n  \"tasks\": ");
		buf_printf(&json, "%d,\n  \"itemsPerTask\": %" PRId64 ",\n  \"iterations\": %d,\n  \"summary\": [",
			   bench.size, opt.items, iters);
		mdtest_fmt_summary_header(&out, iters);
		bool first = true;
		/* mdtest's rows: directory ones unless -F, file ones unless -D, tree ones always. */
		for (int op = 0; v && op < MDTEST_NOPS; op++) {
			if (op == MDTEST_DIR_RENAME)
				continue;
			if (op <= MDTEST_DIR_REMOVE && !opt.dirs)
				continue;
			if (op >= MDTEST_FILE_CREATE && op <= MDTEST_FILE_REMOVE && !opt.files)
				continue;
			uint64_t sum_items = 0;
			for (int it = 0; it < iters; it++) {
				v[it] = rates[(size_t)it * MDTEST_NOPS + op];
				sum_items += items[(size_t)it * MDTEST_NOPS + op];
			}
			struct bench_stats s;
			bench_stats_mdtest(v, iters, &s);
			mdtest_fmt_summary_row(&out, op, &s, iters);
			buf_printf(&json, "%s\n    {\"operation\": \"%s\", \"max\": %.3f, \"min\": %.3f, \"mean\": %.3f, "
					  "\"stddev\": %.3f, \"items\": %" PRIu64 "}",
				   first ? "" : ",", mdtest_op_name(op), s.max, s.min, s.mean, iters == 1 ? 0 : s.sd,
				   sum_items);
			first = false;
		}
		free(v);
		buf_puts(&json, "\n  ]\n}\n");
		date_text(when, sizeof(when));
		buf_printf(&out, "-- finished at %s --\n", when);
		if (text)
			fwrite(out.data, 1, out.len, stdout);
		if (opt.cli.json)
			fwrite(json.data, 1, json.len, stdout);
		else if (opt.cli.json_path) {
			FILE *jf = fopen(opt.cli.json_path, "w");
			if (!jf || fwrite(json.data, 1, json.len, jf) != json.len || fclose(jf))
				fprintf(stderr, PROG ": error: cannot write JSON to '%s': %s\n", opt.cli.json_path,
					strerror(errno));
		}
		buf_release(&json);
	}
	buf_release(&out);
	free(rates);
	free(items);
	free(io_buf);
	bench_exit(0);
}
