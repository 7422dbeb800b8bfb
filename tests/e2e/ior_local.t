#!/bin/bash
# stratus-ior with mpirun -np 4 on a local directory: IOR's output lines,
# exact file sizes, verification that passes and that catches one flipped
# byte, removal, the seed's command, and bad options that fail with one line
# and never hang.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/bench_lib.sh"
t_need_cmd mpirun stratus-ior

plan 36
mkdir -p "$T/d"
ior_suite "$T/d" local

# Bad options: one line of ours, non-zero exit, under mpirun and alone.
bad() {
	local desc=$1; shift
	mpi 2 stratus-ior "$@" -o "$T/d/bad" >"$T/bad.out" 2>&1
	local rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && one_error_line "$T/bad.out" stratus-ior; then pass "$desc"; else
		fail "$desc" "exit $rc" "$(cat "$T/bad.out")"; fi
}
bad "transfer size not dividing block size is refused" -t 3m -b 4m
bad "zero transfer size is refused" -t 0
bad "a size with a bad suffix is refused" -b 1x
bad "transfer size not a multiple of 8 is refused" -t 12 -b 24
bad "O_DIRECT with a transfer size not a multiple of 512 is refused" -B -t 1000 -b 2000
bad "an unknown API is refused" -a HDF5
bad "zero segments are refused" -s 0
bad "IOR options not implemented say so" -z
bad "reading a file that does not exist fails" -r
out=$(timeout 30 stratus-ior -t 3m -b 4m 2>&1); rc=$?
is "$rc:$out" "2:stratus-ior: error: block size (-b 4m) must be a multiple of transfer size (-t 3m)" \
	"run alone, the error is exactly one line and exit 2"
# A failure on one rank only: task 2's file name is taken by a directory.
mkdir -p "$T/d/one.00000002"
mpi 4 stratus-ior -w -F -t 64k -b 256k -o "$T/d/one" >"$T/one.out" 2>&1
rc=$?
ok "an error on one rank ends the whole job (exit $rc, no hang) with one line naming rank 2" \
	sh -c "[ $rc -ne 0 ] && [ $rc -ne 124 ] && [ \$(grep -c '^stratus-ior: error: rank 2: ' '$T/one.out') = 1 ]"
