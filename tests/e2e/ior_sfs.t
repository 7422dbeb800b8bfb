#!/bin/bash
# stratus-ior with mpirun -np 4 on a StratusFS mount (2 OSS): the same checks
# as ior_local.t: IOR's lines, exact sizes, -R passing and catching one
# flipped byte, with and without -F.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/bench_lib.sh"
. "$(dirname "$0")/bench_sfs.sh"
t_need_cmd mpirun stratus-ior
sfs_need_local

plan 25
sfs_up 2
ior_suite "$SFS_MNT" stratusfs
