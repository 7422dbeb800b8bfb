#!/bin/bash
# The slurm project's cluster-init on real namespaced nodes (no manager: the
# rig of seed-rig.sh plays the provider and the agent): a scheduler and two
# execute nodes come up with the cluster's own MUNGE key, slurmctld and
# slurmd; Slurm runs jobs across them; OpenMPI runs inside sbatch, through
# srun --mpi=pmix, and in the seed's form (mpiexec --hostfile from the
# scheduler, over ssh with the cluster's key).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/seed-rig.sh"
t_need_root
t_need_cmd munged slurmctld slurmd mpicc mpirun sshd nsenter unshare
T_TIMEOUT=300

plan 18
C=t$$
rig_init "$C"
rig_node "$C-scheduler" "$RIG_NET.10" scheduler slurm.role=scheduler slurm.cores_per_node=2
rig_node "$C-execute-1" "$RIG_NET.11" execute slurm.role=execute
rig_node "$C-execute-2" "$RIG_NET.12" execute slurm.role=execute
S=$C-scheduler
E1=$C-execute-1
E2=$C-execute-2

rig_up "$S"
is "$?" 0 "the scheduler node comes up"
ok "scheduler: default spec (packages, /shared, munge, ssh)" rig_spec "$S" slurm default
ok "scheduler: scheduler spec (slurm.conf, slurmctld)" rig_spec "$S" slurm scheduler
like "$(cat "$R/data/clusters/$C/shared/slurm/slurm.conf")" "PartitionName=execute Nodes=$E1,$E2 Default=YES" \
	"slurm.conf lists the execute array as one partition"
for n in "$E1" "$E2"; do
	rig_up "$n" && rig_spec "$n" slurm default && rig_spec "$n" slurm execute
	is "$?" 0 "$n: default and execute specs succeed"
done
ok "both execute nodes register and are idle" t_wait 60 "idle nodes" \
	sh -c "[ \"\$(nsenter -t $(rig_pid "$S") -n -u -m sinfo -h -N -t idle -o %N | sort | tr '\n' ' ')\" = '$E1 $E2 ' ]"

# The cluster's key: a credential made on one node decodes on another, and
# not with the host's default key.
cred=$(rig_exec "$E1" munge -n)
ok "a MUNGE credential from $E1 decodes on the scheduler" sh -c "printf '%s' '$cred' | nsenter -t $(rig_pid "$S") -m unmunge"
# Each node's copy of the key the manager handed out (no folder shared between nodes).
key_mode=$(stat -c '%a %U' "$R/data/nodes/$S/munge-key/munge.key" "$R/data/nodes/$E1/munge-key/munge.key" | sort -u)
is "$key_mode" "400 munge" "the cluster's munge key is readable by munge only"

is "$(rig_exec "$S" srun -N2 hostname | sort | tr '\n' ' ')" "$E1 $E2 " "srun -N2 runs on both execute nodes"

# An MPI program: each rank names its host; rank 0 prints the Allreduce sum.
cat >"$R/mpi-sum.c" <<'EOF'
#include <mpi.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	int rank, size, sum, one = 1;
	char host[MPI_MAX_PROCESSOR_NAME];
	int len;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Get_processor_name(host, &len);
	MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	printf("rank %d of %d on %s\n", rank, size, host);
	if (rank == 0)
		printf("sum %d\n", sum);
	MPI_Finalize();
	return 0;
}
EOF
mkdir -p "$R/data/clusters/$C/shared/bin"
ok "an MPI program builds into /shared/bin" mpicc -o "$R/data/clusters/$C/shared/bin/mpi-sum" "$R/mpi-sum.c"
mpienv="OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_tcp_if_include=$RIG_NET.0/24 OMPI_MCA_oob_tcp_if_include=$RIG_NET.0/24"

cat >"$R/data/clusters/$C/shared/home/job.sh" <<EOF
#!/bin/bash
#SBATCH -N 2
#SBATCH --ntasks-per-node=2
#SBATCH -o /shared/home/job.out
export $mpienv
mpirun /shared/bin/mpi-sum
EOF
jobid=$(rig_exec "$S" sbatch --parsable /shared/home/job.sh)
ok "sbatch takes the MPI job (2 nodes x 2 ranks)" test -n "$jobid"
t_wait 60 "job $jobid to finish" sh -c "grep -q '^sum' $R/data/clusters/$C/shared/home/job.out"
out=$(cat "$R/data/clusters/$C/shared/home/job.out" 2>/dev/null)
like "$out" "sum 4" "mpirun inside sbatch: 4 ranks sum to 4"
is "$(echo "$out" | awk '/^rank/ { print $NF }' | sort -u | tr '\n' ' ')" "$E1 $E2 " "the ranks ran on both nodes"

out=$(rig_exec "$S" env $mpienv srun --mpi=pmix -N2 -n4 /shared/bin/mpi-sum 2>&1)
like "$out" "sum 4" "srun --mpi=pmix runs 4 ranks on 2 nodes"

# The seed's form: a hostfile and mpiexec from the scheduler, over ssh.
printf '%s slots=2\n%s slots=2\n' "$E1" "$E2" >"$R/data/clusters/$C/shared/home/hosts"
out=$(rig_exec "$S" sh -c "cd /shared/home && env $mpienv mpiexec --hostfile hosts -np 4 /shared/bin/mpi-sum" 2>&1)
like "$out" "sum 4" "mpiexec --hostfile hosts -np 4 from the scheduler runs across both nodes"

# Cluster-init runs again without harm (a `retry`, a manager restart).
rig_spec "$S" slurm default && rig_spec "$S" slurm scheduler && rig_spec "$E1" slurm default && rig_spec "$E1" slurm execute
is "$?" 0 "the specs run again without harm"
like "$(cat "$T/$S.slurm.scheduler.20-slurmctld.sh.log" "$T/$E1.slurm.execute.90-slurmd.sh.log" | tr "\n" " ")" "slurmctld already runs.*slurmd already runs" \
	"a second run finds the daemons running and says so"
