#!/bin/bash
# Autoscale on real namespaced nodes, with the slurm project's autoscaler
# (files/slurm-autoscaler; or, with MODE=powersave, Slurm's power saving and
# files/slurm-power as its ResumeProgram/SuspendProgram):
# an sbatch MPI job of 2 nodes x 2 ranks with no execute node up makes two
# nodes come up, runs, and writes its output; after the idle time the nodes
# are given back.  The rig (seed-rig.sh) plays the manager's part: it makes a
# node when asked (`stratus-node resume`) and runs its cluster-init.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/seed-rig.sh"
t_need_root
t_need_cmd munged slurmctld slurmd mpicc mpirun nsenter unshare
T_TIMEOUT=300
IDLE=${IDLE:-5}
MODE=${MODE:-watch}

plan 13
C=t$$
rig_init "$C"
conf="slurm.autoscale=true slurm.autoscale_mode=$MODE slurm.idle_time=$IDLE slurm.cores_per_node=2 slurm.resume_retry=3"
# shellcheck disable=SC2086
rig_node "$C-scheduler" "$RIG_NET.10" scheduler slurm.role=scheduler $conf
for i in 1 2 3; do rig_node "$C-execute-$i" "$RIG_NET.1$i" execute slurm.role=execute; done
S=$C-scheduler

rig_up "$S" && rig_spec "$S" slurm default && rig_spec "$S" slurm scheduler
is "$?" 0 "the scheduler comes up with autoscale on"
t_start provider rig_provider_loop slurm
t_on_cleanup "kill $T_PID"
t_wait 20 "slurmctld" rig_exec "$S" scontrol ping
out=$(rig_exec "$S" sinfo -h -N -o '%N %t' | sort)
is "$(echo "$out" | awk '$2 ~ /^(idle~|down\*?|unk\*?)$/ { printf "%s ", $1 }')" "$C-execute-1 $C-execute-2 $C-execute-3 " \
	"all three slots are known to Slurm, none up ($MODE)"

cat >"$R/mpi-sum.c" <<'EOF'
#include <mpi.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	int rank, one = 1, sum;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	if (rank == 0)
		printf("sum %d\n", sum);
	MPI_Finalize();
	return 0;
}
EOF
sh=$R/data/clusters/$C/shared
mpicc -o "$sh/bin/mpi-sum" "$R/mpi-sum.c" || bail "mpicc failed"
cat >"$sh/home/job.sh" <<EOF
#!/bin/bash
#SBATCH -N 2
#SBATCH --ntasks-per-node=2
#SBATCH -o /shared/home/job-%j.out
date +%s.%N >/shared/home/started-\$SLURM_JOB_ID
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_tcp_if_include=$RIG_NET.0/24 OMPI_MCA_oob_tcp_if_include=$RIG_NET.0/24
mpirun /shared/bin/mpi-sum
hostname
EOF
t0=$(date +%s.%N)
job=$(rig_exec "$S" sbatch --parsable /shared/home/job.sh)
ok "sbatch takes the job with no execute node up" test -n "$job"
ok "the job starts" t_wait 90 "job $job to start" test -s "$sh/home/started-$job"
lat=$(awk -v a="$t0" -v b="$(cat "$sh/home/started-$job" 2>/dev/null || echo 0)" 'BEGIN { printf "%.1f", b - a }')
diag "sbatch to running, no node up ($MODE): ${lat}s"
ok "the job ends" t_wait 60 "job $job to end" sh -c "grep -q '^$C-execute' $sh/home/job-$job.out"
like "$(cat "$sh/home/job-$job.out")" "sum 4" "2 nodes x 2 ranks ran and wrote their output"
is "$(grep -c '^resume' "$R/requests")" 2 "exactly two nodes were asked for"
is "$(awk '$3 == "Ready"' "$R/cluster-nodes" | wc -l)" 2 "two nodes came up"

# After the idle time (and slurmctld's power-saving pass) they are given back.
ok "the idle nodes are given back" t_wait $((IDLE + 60)) "suspend requests" sh -c "[ \$(grep -c '^suspend' $R/requests) -eq 2 ]"
ok "and are gone" t_wait 20 "nodes Off" sh -c "[ \$(awk '\$3 == \"Off\"' $R/cluster-nodes | wc -l) -eq 3 ]"

# A node that fails to come up is asked for again (after slurm.resume_retry
# = 3 s, then longer) and the job that waits for it still runs.  (Under power
# saving, Slurm's ResumeTimeout and ResumeFailProgram do this: minutes.)
if [ "$MODE" != watch ]; then
	skip "retry of a node that failed to come up: the watcher's (MODE=watch)"
	skip "the first attempt was lost"
	skip "and the node was asked for again"
	exit 0
fi
echo "$C-execute-1" >"$R/fail-once"
before=$(grep -c "^resume $C-execute-1\$" "$R/requests")
job2=$(rig_exec "$S" sbatch --parsable -N1 -o /shared/home/job2.out --wrap hostname)
ok "a job whose node failed to come up still runs" t_wait 90 "job $job2 output" grep -q "^$C-execute" "$sh/home/job2.out"
is "$(cat "$T/provider.log" | grep -c "$C-execute-1 not made")" 1 "the first attempt was lost"
after=$(grep -c "^resume $C-execute-1\$" "$R/requests")
ok "and the node was asked for again" test "$after" -ge $((before + 2))
