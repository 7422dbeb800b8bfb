#!/bin/bash
# stratus-mdtest with mpirun -np 4 on a local directory: mdtest's SUMMARY
# table, exactly -n items per task in every phase, nothing left behind, and
# bad options that fail with one line.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/bench_lib.sh"
t_need_cmd mpirun stratus-mdtest

plan 14
mkdir -p "$T/d"
mdtest_suite "$T/d" local
for args in "-n x" "-Z" "-i 0"; do
	mpi 2 stratus-mdtest $args -d "$T/d/bad" >"$T/bad.out" 2>&1
	rc=$?
	ok "bad option '$args' fails with one line (exit $rc)" sh -c "[ $rc -ne 0 ] && [ $rc -ne 124 ] && [ \$(grep -c '^stratus-mdtest: ' '$T/bad.out') = 1 ]"
done
