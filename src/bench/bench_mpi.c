/*
 * bench_mpi.c: job identity, collective error agreement, and the shared
 * command line as the programs act on it (bench_mpi.h).
 */
#include "bench/bench_mpi.h"

#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <mpi.h>

struct bench_job bench;

static char fail_msg[1024];
static bool fail_set;
static bool fail_reported; /* printed once, however often agreement is asked */

void bench_mpi_init(int *argc, char ***argv, const char *prog)
{
	bench.prog = prog;
	if (MPI_Init(argc, argv) != MPI_SUCCESS) {
		fprintf(stderr, "%s: error: MPI_Init failed; run it with mpirun or mpiexec\n", prog);
		exit(1);
	}
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	MPI_Comm_rank(MPI_COMM_WORLD, &bench.rank);
	MPI_Comm_size(MPI_COMM_WORLD, &bench.size);

	/* Count hosts as MPI sees them: one shared-memory domain per node. */
	MPI_Comm node;
	int local_rank = 0, local_size = 1, leader, nodes = 1;
	if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
		MPI_Comm_rank(node, &local_rank);
		MPI_Comm_size(node, &local_size);
		MPI_Comm_free(&node);
	}
	leader = local_rank == 0;
	MPI_Allreduce(&leader, &nodes, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	MPI_Bcast(&local_size, 1, MPI_INT, 0, MPI_COMM_WORLD);
	bench.nodes = nodes;
	bench.tasks_per_node = local_size;
}

int bench_fail(const char *fmt, ...)
{
	if (!fail_set) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(fail_msg, sizeof(fail_msg), fmt, ap);
		va_end(ap);
		fail_set = true;
	}
	return -1;
}

bool bench_failed(void)
{
	return fail_set;
}

static void lost_contact(void)
{
	fprintf(stderr, "%s: error: rank %d lost contact with the other ranks; aborting the job\n", bench.prog,
		bench.rank);
	MPI_Abort(MPI_COMM_WORLD, 1);
}

void bench_barrier(void)
{
	MPI_Request r;
	if (MPI_Ibarrier(MPI_COMM_WORLD, &r) != MPI_SUCCESS) {
		MPI_Barrier(MPI_COMM_WORLD);
		return;
	}
	const struct timespec nap = { 0, 100 * 1000 };
	for (;;) {
		int done = 0;
		if (MPI_Test(&r, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
			lost_contact();
		if (done)
			return;
		nanosleep(&nap, NULL);
	}
}

bool bench_agree(void)
{
	bench_barrier(); /* the ranks that finish first sleep, not poll, until the rest come */
	int mine = fail_set ? bench.rank : INT_MAX, first = INT_MAX;
	if (MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) != MPI_SUCCESS)
		lost_contact();
	if (first == INT_MAX)
		return false;
	if (first == bench.rank && !fail_reported) {
		fail_reported = true;
		if (bench.size > 1)
			fprintf(stderr, "%s: error: rank %d: %s\n", bench.prog, bench.rank, fail_msg);
		else
			fprintf(stderr, "%s: error: %s\n", bench.prog, fail_msg);
		fflush(stderr);
	}
	return true;
}

void bench_usage_error(const char *fmt, ...)
{
	if (bench.rank != 0)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: error: %s\n", bench.prog, msg);
	fflush(stderr);
}

void bench_help(const char *const *lines)
{
	if (bench.rank == 0)
		for (int i = 0; lines[i]; i++)
			puts(lines[i]);
	bench_exit(0);
}

int bench_int_opt(char flag, const char *val, int64_t lo, int64_t hi, bool size, int64_t *out)
{
	char err[512];
	if (bench_opt_int(flag, val, lo, hi, size, out, err, sizeof(err))) {
		bench_usage_error("%s", err);
		return -1;
	}
	return 0;
}

int bench_size_opt(char flag, const char *val, int64_t *out)
{
	char err[512];
	if (bench_opt_size(flag, val, out, err, sizeof(err))) {
		bench_usage_error("%s", err);
		return -1;
	}
	return 0;
}

int bench_cli_option(struct bench_cli *cli, int c, char **argv, const char *const *help)
{
	char err[512];
	switch (bench_opt_common(cli, c, optarg, optopt, argv[optind - 1], err, sizeof(err))) {
	case BENCH_OPT_TAKEN:
		return 0;
	case BENCH_OPT_HELP:
		bench_help(help);
	case BENCH_OPT_BAD:
		break;
	}
	bench_usage_error("%s", err);
	return -1;
}

int bench_cli_no_operand(const struct bench_cli *cli, int argc, char **argv)
{
	char err[512];
	if (bench_opt_no_operand(cli, argc, argv, optind, err, sizeof(err))) {
		bench_usage_error("%s", err);
		return -1;
	}
	return 0;
}

int bench_cli_json_check(const struct bench_cli *cli)
{
	char err[512];
	if (bench_opt_json_check(cli, err, sizeof(err))) {
		bench_usage_error("%s", err);
		return -1;
	}
	return 0;
}

void bench_exit(int code)
{
	fflush(stdout);
	fflush(stderr);
	MPI_Finalize();
	exit(code);
}

double bench_now(void)
{
	return MPI_Wtime();
}
