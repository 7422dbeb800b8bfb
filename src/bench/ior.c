/*
 * ior.c: stratus-ior, an IOR-compatible parallel I/O benchmark (MPI).
 *
 * It takes IOR's options with IOR's meanings and prints IOR's output, so a
 * figure it gives can stand beside a published IOR figure:
 *   - each of N tasks moves segments x block bytes in transfers of xfer bytes,
 *     to its own file (-F) or to its own blocks of one shared file;
 *   - bandwidth is all bytes moved over the time from the earliest open to
 *     the latest close across tasks, with IOR's barriers: one before the open,
 *     one after the close (and, with -g, between open, transfer and close);
 *   - IOPS are transfers over the data phase; latency is the best per-task
 *     mean time of one transfer of a block, as IOR reports them;
 *   - the data is IOR's pattern (rank and seed -G in even 8-byte words, the
 *     offset in odd ones), so -W / -R can check what the file holds.
 * Errors on one task are agreed on by all (bench_mpi.h): no task is left
 * waiting in a collective call, and the job ends with one line and exit 1.
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
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <mpi.h>

#include "bench/bench_fmt.h"
#include "bench/bench_mpi.h"
#include "common/buf.h"

#define PROG "stratus-ior"

enum api { API_POSIX, API_MPIIO };

struct ior_opts {
	enum api api;
	int64_t block, xfer, segments;
	int64_t reps, task_offset, seed;
	bool seed_set;
	bool fpp, write, read, check_write, check_read, fsync, reorder, direct, keep, existing;
	bool store_offset, intra_barriers;
	int verbose;
	const char *path;
	const char *block_text, *xfer_text; /* as the user wrote them, for messages */
	struct bench_cli cli; /* -h, --json[=FILE] */
};

/* What one phase (write or read) of one repetition measured, reduced on rank 0. */
struct phase_result {
	double open_s, rdwr_s, close_s, total_s;
	double latency;
	double bytes; /* moved by all tasks */
};

static struct ior_opts opt;
static uint32_t seed;          /* the pattern's seed: -G, or the start time as IOR does */
static int rank_offset;        /* -C: read the data of task (rank + rank_offset) % N */
static bool verify_failed;
static struct buf json = BUF_INIT(64u << 20);
static bool json_started_result;

/* ---- output (rank 0) ---- */

static bool text_out(void)
{
	return bench.rank == 0 && !opt.cli.json;
}

static void emit(struct buf *b)
{
	if (text_out() && b->len) {
		fwrite(b->data, 1, b->len, stdout);
		fflush(stdout);
	}
	buf_reset(b);
}

static void json_str(struct buf *b, const char *s)
{
	buf_puts(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			buf_printf(b, "\\u%04x", c);
		else
			buf_append(b, s, 1);
	}
	buf_puts(b, "\"");
}

/* ---- options ---- */

static const char *const help_lines[] = {
	"usage: " PROG " [IOR options]      (run it with mpirun/mpiexec/srun)",
	"",
	"An IOR-compatible benchmark: options, bandwidth and output as IOR's.",
	"",
	"  -a API     POSIX or MPIIO (default POSIX)",
	"  -b SIZE    block size: contiguous bytes each task writes per segment (default 1m)",
	"  -t SIZE    transfer size: bytes per write/read call (default 256k)",
	"  -s N       segments (default 1)",
	"  -F         file per process (else one shared file, each task its own blocks)",
	"  -w         write the file(s)",
	"  -r         read the file(s)           (neither -w nor -r: both)",
	"  -W         check the data after writing (untimed pass)",
	"  -R         check the data read against the pattern (untimed pass)",
	"  -G N       seed of the data pattern (default: the start time); reuse it to check in a later run",
	"  -l         store the file offset in every transfer's data (else offsets within the transfer)",
	"  -e         fsync after the write phase (counted in the write time)",
	"  -C         reorder tasks for read-back: task r reads what task r + Q*tasks-per-node wrote",
	"  -Q N       task offset for -C, in nodes (default 1)",
	"  -B         O_DIRECT: bypass the page cache (POSIX; with MPIIO a hint the MPI library may ignore)",
	"  -g         barriers between open, transfer and close",
	"  -E         use the existing file: do not remove it before writing",
	"  -i N       repetitions (default 1)",
	"  -k         keep the file(s) at the end (else they are removed)",
	"  -v         more output (repeat for more)",
	"  -o PATH    test file (default testFile); with -F each task adds .NNNNNNNN",
	"  --json     print a JSON document instead of the text",
	"  --json=FILE  print the text and write the JSON document to FILE",
	"  -h, --help show this help",
	"",
	"Sizes take k, m, g suffixes (powers of 1024).  Unlike IOR, the test runs as soon",
	"as the options are read: there is no -f script file.",
	NULL,
};

/* 0, or -1 after rank 0 printed the one-line reason. */
static int parse_options(int argc, char **argv)
{
	static const struct option longopts[] = { BENCH_LONG_OPTIONS };
	/* IOR's options without a value (but -v, which counts) */
	static const struct bench_flag flags[] = {
		{ 'B', &opt.direct }, { 'C', &opt.reorder }, { 'e', &opt.fsync },
		{ 'E', &opt.existing }, { 'F', &opt.fpp }, { 'g', &opt.intra_barriers },
		{ 'k', &opt.keep }, { 'l', &opt.store_offset }, { 'r', &opt.read },
		{ 'R', &opt.check_read }, { 'w', &opt.write }, { 'W', &opt.check_write }, { 0, NULL },
	};
	int c;

	opt.api = API_POSIX;
	opt.block = 1 << 20;
	opt.xfer = 256 << 10;
	opt.segments = 1;
	opt.reps = 1;
	opt.task_offset = 1;
	opt.path = "testFile";
	opt.block_text = "1m";
	opt.xfer_text = "256k";
	opt.cli = (struct bench_cli){ PROG, "IOR", "AcdDfHjKLmMnNOpPqSTuUVxXyYzZ", "the test file is given with -o" };
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":a:b:BCeEFgG:hi:klo:Q:rRs:t:vwW", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (!strcasecmp(optarg, "POSIX"))
				opt.api = API_POSIX;
			else if (!strcasecmp(optarg, "MPIIO"))
				opt.api = API_MPIIO;
			else {
				bench_usage_error("api '%s' is not supported; use -a POSIX or -a MPIIO", optarg);
				return -1;
			}
			break;
		case 'b':
			if (bench_size_opt('b', optarg, &opt.block))
				return -1;
			opt.block_text = optarg;
			break;
		case 't':
			if (bench_size_opt('t', optarg, &opt.xfer))
				return -1;
			opt.xfer_text = optarg;
			break;
		case 's':
			if (bench_int_opt('s', optarg, 1, INT32_MAX, false, &opt.segments))
				return -1;
			break;
		case 'i':
			if (bench_int_opt('i', optarg, 1, 100000, false, &opt.reps))
				return -1;
			break;
		case 'Q':
			if (bench_int_opt('Q', optarg, 1, INT32_MAX, false, &opt.task_offset))
				return -1;
			break;
		case 'G':
			if (bench_int_opt('G', optarg, INT32_MIN, UINT32_MAX, false, &opt.seed))
				return -1;
			opt.seed_set = true;
			break;
		case 'o':
			if (!*optarg) {
				bench_usage_error("option '-o' needs a file path");
				return -1;
			}
			opt.path = optarg;
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
	/* IOR's checks of the settings, in words a user can act on. */
	if (opt.block <= 0) {
		bench_usage_error("block size (-b) must be greater than 0");
		return -1;
	}
	if (opt.xfer <= 0) {
		bench_usage_error("transfer size (-t) must be greater than 0");
		return -1;
	}
	if (opt.xfer > opt.block) {
		bench_usage_error("transfer size (-t %s) must not be larger than block size (-b %s)",
				  opt.xfer_text, opt.block_text);
		return -1;
	}
	if (opt.block % opt.xfer) {
		bench_usage_error("block size (-b %s) must be a multiple of transfer size (-t %s)",
				  opt.block_text, opt.xfer_text);
		return -1;
	}
	if (opt.xfer % 8) {
		bench_usage_error("transfer size (-t %s) must be a multiple of 8 bytes, IOR's data word",
				  opt.xfer_text);
		return -1;
	}
	if (opt.xfer > (1LL << 30)) {
		bench_usage_error("transfer size (-t %s) must be at most 1g", opt.xfer_text);
		return -1;
	}
	if (opt.direct && opt.xfer % 512) {
		bench_usage_error("with -B (O_DIRECT) the transfer size (-t %s) must be a multiple of 512 bytes",
				  opt.xfer_text);
		return -1;
	}
	if (opt.segments > INT64_MAX / opt.block / bench.size) {
		bench_usage_error("segments x block size x tasks is larger than a file can be");
		return -1;
	}
	if (!opt.write && !opt.read && !opt.check_write && !opt.check_read)
		opt.write = opt.read = true;
	if (opt.check_write && !opt.write) {
		bench_usage_error("-W checks the data just written, so it needs -w");
		return -1;
	}
	if (bench_cli_json_check(&opt.cli))
		return -1;
	return 0;
}

/* ---- files ---- */

struct ior_file {
	int fd;
	MPI_File fh;
};

static void file_name(char *out, size_t len, int task)
{
	if (opt.fpp)
		snprintf(out, len, "%s.%08d", opt.path, task);
	else
		snprintf(out, len, "%s", opt.path);
}

static const char *mpi_err_text(int code, char *out)
{
	int len = 0;
	if (MPI_Error_string(code, out, &len) != MPI_SUCCESS)
		snprintf(out, MPI_MAX_ERROR_STRING, "MPI error %d", code);
	return out;
}

/* Open for writing (creating) or reading.  0 or -1 with bench_fail(). */
static int file_open(struct ior_file *f, const char *name, bool write, bool direct)
{
	f->fd = -1;
	f->fh = MPI_FILE_NULL;
	if (opt.api == API_POSIX) {
		int flags = write ? O_WRONLY : O_RDONLY;
		if (direct)
			flags |= O_DIRECT;
		if (write && !opt.fpp) {
			/* IOR's shared-file create: task 0 makes the file, the others open it after. */
			int rc = 0, err = 0;
			if (bench.rank == 0) {
				f->fd = open(name, flags | O_CREAT | O_CLOEXEC, 0664);
				err = errno;
			}
			bench_barrier();
			if (bench.rank != 0) {
				f->fd = open(name, flags | O_CLOEXEC);
				err = errno;
			}
			if (f->fd < 0)
				rc = bench_fail("cannot open '%s' for writing: %s", name, strerror(err));
			return rc;
		}
		if (write)
			flags |= O_CREAT;
		f->fd = open(name, flags | O_CLOEXEC, 0664);
		if (f->fd < 0)
			return bench_fail("cannot open '%s' for %s: %s%s", name, write ? "writing" : "reading",
					  strerror(errno),
					  errno == EINVAL && direct ? "; the file system may not support O_DIRECT (-B)" :
					  errno == ENOENT && !write ? "; write it first (-w, with -k to keep it)" : "");
		return 0;
	}
	MPI_Info info = MPI_INFO_NULL;
	if (direct) {
		/* ROMIO's hints for direct I/O; MPI libraries without them ignore them. */
		MPI_Info_create(&info);
		MPI_Info_set(info, "direct_read", "true");
		MPI_Info_set(info, "direct_write", "true");
	}
	int amode = write ? MPI_MODE_CREATE | MPI_MODE_WRONLY : MPI_MODE_RDONLY;
	int rc = MPI_File_open(opt.fpp ? MPI_COMM_SELF : MPI_COMM_WORLD, name, amode, info, &f->fh);
	if (info != MPI_INFO_NULL)
		MPI_Info_free(&info);
	if (rc != MPI_SUCCESS) {
		char msg[MPI_MAX_ERROR_STRING];
		f->fh = MPI_FILE_NULL;
		return bench_fail("MPI-IO cannot open '%s' for %s: %s", name, write ? "writing" : "reading",
				  mpi_err_text(rc, msg));
	}
	return 0;
}

static int file_xfer(struct ior_file *f, const char *name, bool write, void *buf, int64_t len, int64_t off)
{
	if (opt.api == API_POSIX) {
		int64_t done = 0;
		while (done < len) {
			ssize_t n = write ? pwrite(f->fd, (char *)buf + done, (size_t)(len - done), off + done) :
					    pread(f->fd, (char *)buf + done, (size_t)(len - done), off + done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return bench_fail("cannot %s %" PRId64 " bytes at offset %" PRId64 " of '%s': %s",
						  write ? "write" : "read", len, off + done, name, strerror(errno));
			if (n == 0)
				return bench_fail("'%s' ends at offset %" PRId64 ", before the %" PRId64
						  " bytes the options imply; was it written with the same -b -t -s -F and tasks?",
						  name, off + done, len);
			done += n;
		}
		return 0;
	}
	MPI_Status st;
	int rc = write ? MPI_File_write_at(f->fh, off, buf, (int)len, MPI_BYTE, &st) :
			 MPI_File_read_at(f->fh, off, buf, (int)len, MPI_BYTE, &st);
	if (rc != MPI_SUCCESS) {
		char msg[MPI_MAX_ERROR_STRING];
		return bench_fail("MPI-IO cannot %s %" PRId64 " bytes at offset %" PRId64 " of '%s': %s",
				  write ? "write" : "read", len, off, name, mpi_err_text(rc, msg));
	}
	int count = 0;
	MPI_Get_count(&st, MPI_BYTE, &count);
	if (count != len)
		return bench_fail("MPI-IO %s %d of %" PRId64 " bytes at offset %" PRId64 " of '%s'%s",
				  write ? "wrote" : "read", count, len, off, name,
				  write ? "" : "; was it written with the same -b -t -s -F and tasks?");
	return 0;
}

static int file_sync(struct ior_file *f, const char *name)
{
	if (opt.api == API_POSIX) {
		if (fsync(f->fd) < 0)
			return bench_fail("cannot fsync '%s': %s", name, strerror(errno));
		return 0;
	}
	int rc = MPI_File_sync(f->fh);
	if (rc != MPI_SUCCESS) {
		char msg[MPI_MAX_ERROR_STRING];
		return bench_fail("MPI-IO cannot sync '%s': %s", name, mpi_err_text(rc, msg));
	}
	return 0;
}

static int file_close(struct ior_file *f, const char *name)
{
	if (opt.api == API_POSIX) {
		if (f->fd < 0)
			return 0;
		int rc = close(f->fd);
		f->fd = -1;
		if (rc < 0)
			return bench_fail("cannot close '%s': %s", name, strerror(errno));
		return 0;
	}
	if (f->fh == MPI_FILE_NULL)
		return 0;
	int rc = MPI_File_close(&f->fh);
	f->fh = MPI_FILE_NULL;
	if (rc != MPI_SUCCESS) {
		char msg[MPI_MAX_ERROR_STRING];
		return bench_fail("MPI-IO cannot close '%s': %s", name, mpi_err_text(rc, msg));
	}
	return 0;
}

/* Remove this task's file (-F) or, on task 0, the shared file.  ENOENT is fine. */
static int file_remove(bool quiet_enoent)
{
	char name[PATH_MAX];
	if (!opt.fpp && bench.rank != 0)
		return 0;
	file_name(name, sizeof(name), bench.rank);
	if (unlink(name) < 0 && !(errno == ENOENT && quiet_enoent))
		return bench_fail("cannot remove '%s': %s", name, strerror(errno));
	return 0;
}

/* The file offset of transfer j of segment s of task t. */
static int64_t xfer_offset(int64_t s, int64_t j, int task)
{
	if (opt.fpp)
		return s * opt.block + j * opt.xfer;
	return s * (int64_t)bench.size * opt.block + (int64_t)task * opt.block + j * opt.xfer;
}

/* ---- one phase ---- */

/*
 * Write or read every transfer of this task, timed as IOR times it:
 * timer[0..5] = open start/end, transfer start/end, close start/end.
 * Returns bytes moved by this task, or -1 (bench_fail) with timers as far as they got.
 */
static int64_t run_phase(bool write, void *buf, double timer[6], double *latency)
{
	int task = write ? bench.rank : (bench.rank + rank_offset) % bench.size;
	char name[PATH_MAX];
	struct ior_file f;
	int64_t moved = 0, per_block = opt.block / opt.xfer;
	bool ok;

	file_name(name, sizeof(name), task);
	ior_pattern_fill(buf, (size_t)opt.xfer, task, seed, 0);

	timer[0] = bench_now();
	ok = file_open(&f, name, write, opt.direct) == 0;
	timer[1] = bench_now();
	/* A collective close must not wait for a task whose open failed. */
	if (opt.api == API_MPIIO && !opt.fpp && bench_agree()) {
		for (int i = 2; i < 6; i++)
			timer[i] = timer[1];
		return -1;
	}
	if (opt.intra_barriers)
		bench_barrier();
	timer[2] = bench_now();
	for (int64_t s = 0; ok && s < opt.segments; s++)
		for (int64_t j = 0; ok && j < per_block; j++) {
			int64_t off = xfer_offset(s, j, task);
			if (write && opt.store_offset)
				ior_pattern_fill(buf, (size_t)opt.xfer, task, seed, off);
			ok = file_xfer(&f, name, write, buf, opt.xfer, off) == 0;
			if (ok)
				moved += opt.xfer;
		}
	if (ok && write && opt.fsync)
		ok = file_sync(&f, name) == 0;
	timer[3] = bench_now();
	if (opt.intra_barriers)
		bench_barrier();
	timer[4] = bench_now();
	if (file_close(&f, name))
		ok = false;
	timer[5] = bench_now();
	/* IOR's latency: this task's data time over the transfers of one block. */
	*latency = (timer[3] - timer[2]) / (double)per_block;
	return ok ? moved : -1;
}

/*
 * Read back this task's data (untimed) and compare it with the pattern.
 * Collective.  Returns false if the check could not run (error agreed).
 */
static bool check_phase(bool after_write, void *buf, void *want)
{
	int task = after_write ? bench.rank : (bench.rank + rank_offset) % bench.size;
	char name[PATH_MAX];
	struct ior_file f;
	uint64_t bad = 0, words = 0;
	int64_t first_off = -1, per_block = opt.block / opt.xfer;
	bool ok;

	if (text_out() && opt.verbose >= 1) {
		char when[64];
		bench_time_text(when, sizeof(when));
		printf("%s\n%s\n", after_write ? "Verifying contents of the file(s) just written." :
						 "Re-reading the file(s) to verify the data read.", when);
		fflush(stdout);
	}
	file_name(name, sizeof(name), task);
	ok = file_open(&f, name, false, opt.direct) == 0;
	if (opt.api == API_MPIIO && !opt.fpp && bench_agree())
		return false;
	ior_pattern_fill(want, (size_t)opt.xfer, task, seed, 0);
	for (int64_t s = 0; ok && s < opt.segments; s++)
		for (int64_t j = 0; ok && j < per_block; j++) {
			int64_t off = xfer_offset(s, j, task);
			size_t first = 0;
			ok = file_xfer(&f, name, false, buf, opt.xfer, off) == 0;
			if (!ok)
				break;
			if (opt.store_offset)
				ior_pattern_fill(want, (size_t)opt.xfer, task, seed, off);
			uint64_t n = ior_pattern_check(buf, (size_t)opt.xfer, task, seed,
						       opt.store_offset ? off : 0, &first);
			if (n && first_off < 0)
				first_off = off + (int64_t)first;
			bad += n;
			words += (uint64_t)opt.xfer / 8;
		}
	if (file_close(&f, name))
		ok = false;
	if (bench_agree())
		return false;

	uint64_t total_bad = 0, total_words = 0;
	MPI_Allreduce(&bad, &total_bad, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
	MPI_Allreduce(&words, &total_words, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
	if (total_bad) {
		int mine = bad ? bench.rank : INT_MAX, first_rank = INT_MAX;
		MPI_Allreduce(&mine, &first_rank, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
		if (first_rank == bench.rank) {
			fprintf(stderr,
				PROG ": error: data check %s failed: %" PRIu64 " of %" PRIu64
				" 8-byte words differ from the pattern (seed %" PRIu32 "), the first at byte %" PRId64
				" of '%s'; the file does not hold what was written%s\n",
				after_write ? "after write" : "of the data read", total_bad, total_words, seed,
				first_off, name, opt.seed_set ? "" : " (checking a file from another run needs its -G seed)");
			fflush(stderr);
		}
		verify_failed = true;
	}
	return true;
}

/* Timers reduced as IOR does: earliest start, latest end of each step. */
static void reduce_timers(const double timer[6], double latency, int64_t moved, struct phase_result *r)
{
	double lo[6], red[6];
	for (int i = 0; i < 6; i++)
		lo[i] = timer[i];
	for (int i = 0; i < 6; i += 2)
		MPI_Reduce(&lo[i], &red[i], 1, MPI_DOUBLE, MPI_MIN, 0, MPI_COMM_WORLD);
	for (int i = 1; i < 6; i += 2)
		MPI_Reduce(&lo[i], &red[i], 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
	double bytes = (double)moved, sum = 0, minlat = 0;
	MPI_Reduce(&bytes, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
	MPI_Reduce(&latency, &minlat, 1, MPI_DOUBLE, MPI_MIN, 0, MPI_COMM_WORLD);
	r->open_s = red[1] - red[0];
	r->rdwr_s = red[3] - red[2];
	r->close_s = red[5] - red[4];
	r->total_s = red[5] - red[0];
	r->latency = minlat;
	r->bytes = sum;
}

/* IOR's check of the size of what was written (a warning, as in IOR). */
static void check_size(void)
{
	char name[PATH_MAX];
	struct stat st;
	double mine = 0, total = 0;
	file_name(name, sizeof(name), bench.rank);
	if ((opt.fpp || bench.rank == 0) && stat(name, &st) == 0)
		mine = (double)st.st_size;
	MPI_Reduce(&mine, &total, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
	double expect = (double)bench.size * (double)opt.segments * (double)opt.block;
	if (bench.rank == 0 && total != expect)
		fprintf(stderr, PROG ": warning: aggregate file size is %.0f bytes after the write, not the %.0f the "
				"options imply; bandwidth uses the bytes moved\n", total, expect);
}

/* ---- the report ---- */

static void print_header(int argc, char **argv)
{
	struct buf b = BUF_INIT(1 << 20);
	char when[64], dir[PATH_MAX];
	struct utsname u;
	struct statvfs vfs;

	bench_time_text(when, sizeof(when));
	buf_printf(&b, "Stratus IOR (IOR-3.3 output): MPI Coordinated Test of Parallel I/O\n");
	buf_printf(&b, "%-20s: %s\n", "Began", when);
	buf_printf(&b, "%-20s: %s", "Command line", argv[0]);
	for (int i = 1; i < argc; i++)
		buf_printf(&b, " %s", argv[i]);
	buf_puts(&b, "\n");
	if (uname(&u) == 0)
		buf_printf(&b, "%-20s: %s %s\n", "Machine", u.sysname, u.nodename);
	buf_printf(&b, "%-20s: %d\n", "TestID", 0);
	buf_printf(&b, "%-20s: %s\n", "StartTime", when);
	snprintf(dir, sizeof(dir), "%s", opt.path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	buf_printf(&b, "%-20s: %s\n", "Path", dir);
	if (statvfs(dir, &vfs) == 0 && vfs.f_blocks) {
		double total = (double)vfs.f_blocks * vfs.f_frsize, gib = 1024.0 * 1024 * 1024;
		double used = 100.0 * (double)(vfs.f_blocks - vfs.f_bfree) / (double)vfs.f_blocks;
		double iused = vfs.f_files ? 100.0 * (double)(vfs.f_files - vfs.f_ffree) / (double)vfs.f_files : 0;
		bool tib = total >= 1024 * gib;
		buf_printf(&b, "%-20s: %.1f %s   Used FS: %.1f%%   Inodes: %.1f Mi   Used Inodes: %.1f%%\n", "FS",
			   tib ? total / gib / 1024 : total / gib, tib ? "TiB" : "GiB", used,
			   (double)vfs.f_files / 1048576.0, iused);
	}
	buf_printf(&b, "%-20s: %d\n", "Participating tasks", bench.size);

	char xs[32], bs[32], as[32], ver[32] = "";
	bench_size_text(opt.xfer, xs, sizeof(xs));
	bench_size_text(opt.block, bs, sizeof(bs));
	bench_size_text((int64_t)bench.size * opt.segments * opt.block, as, sizeof(as));
	if (opt.api == API_MPIIO) {
		int v = 0, sv = 0;
		MPI_Get_version(&v, &sv);
		snprintf(ver, sizeof(ver), "(%d.%d)", v, sv);
	}
	buf_printf(&b, "\nOptions: \n");
	buf_printf(&b, "%-20s: %s\n", "api", opt.api == API_POSIX ? "POSIX" : "MPIIO");
	buf_printf(&b, "%-20s: %s\n", "apiVersion", ver);
	buf_printf(&b, "%-20s: %s\n", "test filename", opt.path);
	buf_printf(&b, "%-20s: %s\n", "access", opt.fpp ? "file-per-process" : "single-shared-file");
	buf_printf(&b, "%-20s: %s\n", "type", "independent");
	buf_printf(&b, "%-20s: %" PRId64 "\n", "segments", opt.segments);
	buf_printf(&b, "%-20s: %s\n", "ordering in a file", "sequential");
	if (opt.reorder) {
		buf_printf(&b, "%-20s: %s\n", "ordering inter file", "constant task offset");
		buf_printf(&b, "%-20s: %" PRId64 "\n", "task offset", opt.task_offset);
	} else {
		buf_printf(&b, "%-20s: %s\n", "ordering inter file", "no tasks offsets");
	}
	buf_printf(&b, "%-20s: %d\n", "nodes", bench.nodes);
	buf_printf(&b, "%-20s: %d\n", "tasks", bench.size);
	buf_printf(&b, "%-20s: %d\n", "clients per node", bench.tasks_per_node);
	buf_printf(&b, "%-20s: %" PRId64 "\n", "repetitions", opt.reps);
	buf_printf(&b, "%-20s: %s\n", "xfersize", xs);
	buf_printf(&b, "%-20s: %s\n", "blocksize", bs);
	buf_printf(&b, "%-20s: %s\n", "aggregate filesize", as);
	if (opt.verbose)
		buf_printf(&b, "%-20s: %d\n", "verbose", opt.verbose);
	buf_printf(&b, "\nResults: \n");
	ior_fmt_table_header(&b);
	emit(&b);
	buf_release(&b);

	if (bench.rank == 0) {
		buf_puts(&json, "{\n  \"program\": \"stratus-ior\",\n  \"began\": ");
		json_str(&json, when);
		buf_puts(&json, ",\n  \"command\": ");
		struct buf cmd = BUF_INIT(1 << 16);
		for (int i = 0; i < argc; i++)
			buf_printf(&cmd, "%s%s", i ? " " : "", argv[i]);
		json_str(&json, cmd.data ? cmd.data : "");
		buf_release(&cmd);
		buf_printf(&json, ",\n  \"options\": {\"api\": \"%s\", \"testFileName\": ",
			   opt.api == API_POSIX ? "POSIX" : "MPIIO");
		json_str(&json, opt.path);
		buf_printf(&json, ", \"filePerProc\": %d, \"tasks\": %d, \"nodes\": %d, \"tasksPerNode\": %d, "
				  "\"segments\": %" PRId64 ", \"blockSize\": %" PRId64 ", \"transferSize\": %" PRId64
				  ", \"repetitions\": %" PRId64 ", \"fsync\": %d, \"useO_DIRECT\": %d, \"reorderTasks\": %d, "
				  "\"taskPerNodeOffset\": %" PRId64 ", \"seed\": %" PRIu32 ", \"keepFile\": %d},\n"
				  "  \"results\": [",
			   opt.fpp, bench.size, bench.nodes, bench.tasks_per_node, opt.segments, opt.block, opt.xfer,
			   opt.reps, opt.fsync, opt.direct, opt.reorder, opt.task_offset, seed, opt.keep);
	}
}

static void print_row(bool write, const struct phase_result *r, int rep)
{
	if (bench.rank != 0)
		return;
	struct ior_row row = {
		.access = write ? "write" : "read",
		.bw_mib = r->total_s > 0 ? r->bytes / r->total_s / BENCH_MIB : 0,
		.iops = r->rdwr_s > 0 ? r->bytes / (double)opt.xfer / r->rdwr_s : 0,
		.latency = r->latency,
		.block_kib = (double)opt.block / BENCH_KIB,
		.xfer_kib = (double)opt.xfer / BENCH_KIB,
		.open_s = r->open_s, .rdwr_s = r->rdwr_s, .close_s = r->close_s, .total_s = r->total_s,
		.iter = rep,
	};
	struct buf b = BUF_INIT(4096);
	ior_fmt_row(&b, &row);
	emit(&b);
	buf_release(&b);
	buf_printf(&json, "%s\n    {\"access\": \"%s\", \"iter\": %d, \"bwMiB\": %.4f, \"iops\": %.4f, "
			  "\"latency\": %.6f, \"openTime\": %.6f, \"wrRdTime\": %.6f, \"closeTime\": %.6f, "
			  "\"totalTime\": %.6f, \"bytes\": %.0f}",
		   json_started_result ? "," : "", row.access, rep, row.bw_mib, row.iops, row.latency, r->open_s,
		   r->rdwr_s, r->close_s, r->total_s, r->bytes);
	json_started_result = true;
}

static void summarize(bool write, const struct phase_result *res, int reps, struct buf *b, double *max_bps)
{
	double *bw = calloc((size_t)reps * 2, sizeof(double)), *ops, t = 0;
	if (!bw) {
		fprintf(stderr, PROG ": error: out of memory for the summary of %d repetitions\n", reps);
		return;
	}
	ops = bw + reps;
	for (int i = 0; i < reps; i++) {
		bw[i] = res[i].total_s > 0 ? res[i].bytes / res[i].total_s : 0;
		ops[i] = bw[i] / (double)opt.xfer;
		t += res[i].total_s;
	}
	struct ior_summary s = {
		.operation = write ? "write" : "read",
		.mean_time = t / reps,
		.test_id = 0, .tasks = bench.size, .tasks_per_node = bench.tasks_per_node, .reps = reps,
		.fpp = opt.fpp, .reorder = opt.reorder, .task_offset = (int)opt.task_offset,
		.segments = opt.segments, .block = opt.block, .xfer = opt.xfer,
		.agg_mib = res[0].bytes / BENCH_MIB,
		.api = opt.api == API_POSIX ? "POSIX" : "MPIIO",
	};
	bench_stats_ior(bw, reps, &s.bw);
	bench_stats_ior(ops, reps, &s.ops);
	ior_fmt_summary_row(b, &s);
	*max_bps = s.bw.max;
	buf_printf(&json, "%s\n    {\"operation\": \"%s\", \"maxMiB\": %.4f, \"minMiB\": %.4f, \"meanMiB\": %.4f, "
			  "\"stddevMiB\": %.4f, \"maxOPs\": %.4f, \"minOPs\": %.4f, \"meanOPs\": %.4f, "
			  "\"stddevOPs\": %.4f, \"meanTime\": %.6f, \"aggMiB\": %.4f}",
		   write || !opt.write ? "" : ",", s.operation, s.bw.max / BENCH_MIB, s.bw.min / BENCH_MIB,
		   s.bw.mean / BENCH_MIB, s.bw.sd / BENCH_MIB, s.ops.max, s.ops.min, s.ops.mean, s.ops.sd,
		   s.mean_time, s.agg_mib);
	free(bw);
}

/* ---- main ---- */

static void fail_exit(void)
{
	/* Files this run wrote are removed unless -k asked to keep them. */
	if (!opt.keep && opt.write && (opt.fpp || bench.rank == 0)) {
		char name[PATH_MAX];
		file_name(name, sizeof(name), bench.rank);
		unlink(name);
	}
	bench_exit(1);
}

int main(int argc, char **argv)
{
	bench_mpi_init(&argc, &argv, PROG);
	if (parse_options(argc, argv))
		bench_exit(2);

	if (opt.cli.json_path && bench.rank == 0) {
		FILE *jf = fopen(opt.cli.json_path, "w");
		if (!jf) {
			fprintf(stderr, PROG ": error: cannot write JSON to '%s': %s\n", opt.cli.json_path, strerror(errno));
			MPI_Abort(MPI_COMM_WORLD, 2);
		}
		fclose(jf);
	}

	/* IOR's default seed is the start time, shared by all tasks. */
	uint32_t s = opt.seed_set ? (uint32_t)opt.seed : (uint32_t)time(NULL);
	MPI_Bcast(&s, 1, MPI_UINT32_T, 0, MPI_COMM_WORLD);
	seed = s;
	if (opt.reorder)
		rank_offset = (int)((opt.task_offset * bench.tasks_per_node) % bench.size);

	void *buf = NULL, *want = NULL;
	if (posix_memalign(&buf, 4096, (size_t)opt.xfer) ||
	    ((opt.check_read || opt.check_write) && posix_memalign(&want, 4096, (size_t)opt.xfer)))
		bench_fail("cannot allocate %" PRId64 " bytes for the transfer buffer; use a smaller -t", opt.xfer);
	if (bench_agree())
		bench_exit(1);
	memset(buf, 0, (size_t)opt.xfer);

	print_header(argc, argv);

	int reps = (int)opt.reps;
	struct phase_result *wres = calloc((size_t)reps, sizeof(*wres));
	struct phase_result *rres = calloc((size_t)reps, sizeof(*rres));
	if (!wres || !rres) {
		bench_fail("out of memory for %d repetitions", reps);
	}
	if (bench_agree())
		bench_exit(1);

	for (int rep = 0; rep < reps; rep++) {
		double timer[6], lat;
		int64_t moved;
		char when[64];

		if (opt.write) {
			if (!opt.existing)
				file_remove(true);
			if (bench_agree())
				fail_exit();
			if (text_out() && opt.verbose >= 1) {
				bench_time_text(when, sizeof(when));
				printf("Commencing write performance test: %s\n", when);
				fflush(stdout);
			}
			bench_barrier();
			moved = run_phase(true, buf, timer, &lat);
			bench_barrier();
			if (bench_agree())
				fail_exit();
			reduce_timers(timer, lat, moved, &wres[rep]);
			print_row(true, &wres[rep], rep);
			check_size();
			if (opt.check_write && !check_phase(true, buf, want))
				fail_exit();
		}
		if (opt.read || opt.check_read) {
			if (opt.read) {
				if (text_out() && opt.verbose >= 1) {
					bench_time_text(when, sizeof(when));
					printf("Commencing read performance test: %s\n", when);
					fflush(stdout);
				}
				bench_barrier();
				moved = run_phase(false, buf, timer, &lat);
				bench_barrier();
				if (bench_agree())
					fail_exit();
				reduce_timers(timer, lat, moved, &rres[rep]);
				print_row(false, &rres[rep], rep);
			}
			if (opt.check_read && !check_phase(false, buf, opt.check_read ? want : NULL))
				fail_exit();
		}
		if (!opt.keep) {
			double t0, t1, lo = 0, hi = 0;
			bench_barrier();
			t0 = bench_now();
			file_remove(false);
			t1 = bench_now();
			if (bench_agree())
				bench_exit(1);
			MPI_Reduce(&t0, &lo, 1, MPI_DOUBLE, MPI_MIN, 0, MPI_COMM_WORLD);
			MPI_Reduce(&t1, &hi, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
			if (bench.rank == 0) {
				struct buf b = BUF_INIT(4096);
				ior_fmt_remove_row(&b, hi - lo, rep);
				emit(&b);
				buf_release(&b);
			}
		}
	}

	if (bench.rank == 0) {
		struct buf b = BUF_INIT(1 << 20), sum = BUF_INIT(1 << 20);
		double wmax = 0, rmax = 0;
		buf_puts(&json, "\n  ],\n  \"summary\": [");
		ior_fmt_summary_header(&sum);
		if (opt.write)
			summarize(true, wres, reps, &sum, &wmax);
		if (opt.read)
			summarize(false, rres, reps, &sum, &rmax);
		if (opt.write)
			ior_fmt_max(&b, true, wmax);
		if (opt.read)
			ior_fmt_max(&b, false, rmax);
		buf_append(&b, sum.data ? sum.data : "", sum.len);
		char when[64];
		bench_time_text(when, sizeof(when));
		buf_printf(&b, "%-20s: %s\n", "Finished", when);
		emit(&b);
		buf_release(&b);
		buf_release(&sum);
		buf_printf(&json, "\n  ],\n  \"maxWriteMiB\": %.4f,\n  \"maxReadMiB\": %.4f,\n  \"verifyFailed\": %s\n}\n",
			   wmax / BENCH_MIB, rmax / BENCH_MIB, verify_failed ? "true" : "false");
		if (opt.cli.json) {
			fwrite(json.data, 1, json.len, stdout);
		} else if (opt.cli.json_path) {
			FILE *jf = fopen(opt.cli.json_path, "w");
			if (!jf || fwrite(json.data, 1, json.len, jf) != json.len || fclose(jf)) {
				fprintf(stderr, PROG ": error: cannot write JSON to '%s': %s\n", opt.cli.json_path,
					strerror(errno));
				verify_failed = true; /* the run's output is incomplete: fail */
			}
		}
	}
	buf_release(&json);
	free(wres);
	free(rres);
	free(buf);
	free(want);
	int failed = verify_failed, any = 0;
	MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
	bench_exit(any ? 1 : 0);
}
