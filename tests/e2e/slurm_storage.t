#!/bin/bash
# The stratusfs project with the slurm project on real namespaced nodes (the
# rig of seed-rig.sh plays the manager): a storage cluster (an mds node that
# also serves an OST, and one oss node) and a compute cluster (scheduler and
# two execute nodes) that mounts it at /lustre; a file written on one node
# reads back identical on another; an MPI job writes to /lustre through Slurm.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/seed-rig.sh"
t_need_root
t_need_cmd munged slurmctld slurmd mpicc mpirun nsenter unshare fusermount3
[ -x "$BIN/sfs-mds" ] && [ -x "$BIN/sfs-mount" ] || skip_all "StratusFS is not built (branch fs not merged)"

plan 11
ST=s$$
C=c$$
rig_init "$ST"
rig_node "$ST-mds" "$RIG_NET.5" mds stratusfs.role=mds stratusfs.mds_serves_ost=true stratusfs.fsname=tfs
rig_node "$ST-oss-1" "$RIG_NET.6" oss stratusfs.role=oss
rig_cluster "$C"
cl="stratusfs.cluster=$ST stratusfs.mountpoint=/lustre"
# shellcheck disable=SC2086
rig_node "$C-scheduler" "$RIG_NET.10" scheduler slurm.role=scheduler slurm.cores_per_node=2 $cl
# shellcheck disable=SC2086
for i in 1 2; do rig_node "$C-execute-$i" "$RIG_NET.1$i" execute slurm.role=execute $cl; done

rig_up "$ST-mds" && rig_spec "$ST-mds" stratusfs default && rig_spec "$ST-mds" stratusfs mds
is "$?" 0 "the mds node comes up: munged, sfs-mds, its own OST"
rig_up "$ST-oss-1" && rig_spec "$ST-oss-1" stratusfs default && rig_spec "$ST-oss-1" stratusfs oss
is "$?" 0 "the oss node comes up: sfs-oss registered with the MDS"

for n in "$C-scheduler" "$C-execute-1" "$C-execute-2"; do
	spec=execute
	[ "$n" = "$C-scheduler" ] && spec=scheduler
	rig_up "$n" && rig_spec "$n" slurm default && rig_spec "$n" stratusfs default &&
		rig_spec "$n" stratusfs client && rig_spec "$n" slurm "$spec"
	is "$?" 0 "$n: slurm, stratusfs client and $spec specs succeed"
done
for n in "$C-execute-1" "$C-execute-2"; do
	like "$(rig_exec "$n" mount | grep lustre)" "^$RIG_NET.5:9800:/tfs on /lustre type fuse" "$n: mount | grep lustre shows the file system"
done
nok "the host's /lustre is not touched" mountpoint -q /lustre

rig_exec "$C-execute-1" sh -c 'head -c 3000000 /dev/urandom >/lustre/f1 && sha256sum /lustre/f1' >"$T/sum1"
sum2=$(rig_exec "$C-execute-2" sha256sum /lustre/f1)
is "$sum2" "$(cat "$T/sum1")" "a file written on one node reads back identical on another"
sock=$R/data/nodes/$C-execute-1/stratusfs/client/munge/munge.socket
osts=$(rig_exec "$C-execute-1" "$BIN/sfs" osts --munge-socket "$sock" /lustre 2>&1)
is "$(echo "$osts" | grep -c "$RIG_NET\.[56]:")" 2 "sfs osts lists the mds node's OST and the oss node's"

t_wait 60 "idle nodes" sh -c "[ \"\$(nsenter -t $(rig_pid "$C-scheduler") -n -u -m sinfo -h -N -t idle -o %N | wc -l)\" = 2 ]"
cat >"$R/data/clusters/$C/shared/home/io.sh" <<'JOB'
#!/bin/bash
#SBATCH -N 2
#SBATCH --ntasks-per-node=1
#SBATCH -o /shared/home/io-%j.out
srun sh -c 'head -c 1048576 /dev/zero >/lustre/job.$SLURM_PROCID && hostname'
JOB
job=$(rig_exec "$C-scheduler" sbatch --parsable /shared/home/io.sh)
t_wait 60 "job $job" sh -c "[ \$(grep -c . $R/data/clusters/$C/shared/home/io-$job.out 2>/dev/null) -eq 2 ]"
is "$(rig_exec "$C-execute-2" sh -c 'stat -c %s /lustre/job.0 /lustre/job.1' | tr '\n' ' ')" "1048576 1048576 " \
	"a Slurm job on both nodes wrote its files to /lustre"
