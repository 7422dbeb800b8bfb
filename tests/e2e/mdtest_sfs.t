#!/bin/bash
# stratus-mdtest with mpirun -np 4 on a StratusFS mount: the same checks as
# mdtest_local.t (exact item counts per phase, nothing left behind).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/bench_lib.sh"
. "$(dirname "$0")/bench_sfs.sh"
t_need_cmd mpirun stratus-mdtest
sfs_need_local

plan 11
sfs_up 2
mdtest_suite "$SFS_MNT" stratusfs
