# src/bench: the IOR- and mdtest-compatible MPI benchmarks.
#
# libbench holds what needs no MPI (IOR's and mdtest's number formats, the
# statistics, the seeded data pattern, the command line they share), so the
# unit tests can check the output format character by character against
# published IOR/mdtest output, and the options' checks and messages.
LIBS += libbench
libbench_SRCS := src/bench/bench_fmt.c src/bench/bench_opt.c
libbench_PKGS :=
libbench_LDLIBS := -lm

PROGRAMS += stratus-ior
stratus-ior_SRCS := src/bench/ior.c src/bench/bench_mpi.c
stratus-ior_LIBS := libbench libcommon
stratus-ior_PKGS := ompi-c

PROGRAMS += stratus-mdtest
stratus-mdtest_SRCS := src/bench/mdtest.c src/bench/bench_mpi.c
stratus-mdtest_LIBS := libbench libcommon
stratus-mdtest_PKGS := ompi-c
