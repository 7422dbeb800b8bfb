/*
 * bench_mpi.h: what the MPI benchmarks share: who we are in the job, and
 * how ranks agree that something failed.
 *
 * A failure on one rank must never leave the others waiting in a collective
 * call.  Each rank records its first failure with bench_fail() and carries
 * on to the next agreement point, where bench_agree() (a collective every
 * rank calls at the same place) tells all ranks whether any failed; the
 * lowest failing rank prints its one-line message.
 */
#ifndef STRATUS_BENCH_MPI_H
#define STRATUS_BENCH_MPI_H

#include <stdbool.h>
#include <stdint.h>

#include "bench/bench_opt.h"

struct bench_job {
	int rank, size;
	int nodes;          /* distinct hosts in the job */
	int tasks_per_node; /* tasks on rank 0's host */
	const char *prog;
};

extern struct bench_job bench;

/* MPI_Init and the fields above.  Errors of MPI calls are returned, not fatal. */
void bench_mpi_init(int *argc, char ***argv, const char *prog);
/* Record this rank's first failure (printf format); returns -1. */
int bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* True if this rank has recorded a failure. */
bool bench_failed(void);
/* MPI_Barrier on MPI_COMM_WORLD, but a rank that waits sleeps (100 us at a
 * time) instead of polling: 4 ranks on 2 cores share the CPUs with the file
 * system's daemons, and ranks done early must not take CPU from the ranks
 * and daemons still at work (OpenMPI's own barrier polls, yielding at best). */
void bench_barrier(void);
/* Collective: true on every rank if any rank failed; the lowest prints its message. */
bool bench_agree(void);
/* Rank 0 prints "PROG: error: MSG" (for errors every rank detects alike, such as options). */
void bench_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Rank 0 prints the help (lines, NULL-terminated); every rank exits 0. */
void bench_help(const char *const *lines) __attribute__((noreturn));
/*
 * The command line as both programs act on it (bench_opt.h): 0 when the
 * value or option is taken, -1 after rank 0 printed why not.  For
 * bench_cli_option, -h prints HELP and exits.
 */
int bench_int_opt(char flag, const char *val, int64_t lo, int64_t hi, bool size, int64_t *out);
int bench_size_opt(char flag, const char *val, int64_t *out);
int bench_cli_option(struct bench_cli *cli, int c, char **argv, const char *const *help);
/* After the options: no operand is left, and --json and --json=FILE are not both given. */
int bench_cli_no_operand(const struct bench_cli *cli, int argc, char **argv);
int bench_cli_json_check(const struct bench_cli *cli);

/* Collective: finalize MPI and exit with code. */
void bench_exit(int code) __attribute__((noreturn));
/* MPI_Wtime. */
double bench_now(void);

#endif
