#!/bin/bash
# /shared served by the scheduler (slurm.shared = scheduler, what a host pool
# gets by default) on real namespaced nodes (the rig of seed-rig.sh plays the
# manager: keys and published values): the scheduler runs a one-node
# StratusFS with the cluster's MUNGE key and every node mounts it at /shared;
# slurm.conf reaches the execute node through it, a job runs and its output,
# written by the execute node, reads back on the scheduler; no host folder is
# used for /shared.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/seed-rig.sh"
t_need_root
t_need_cmd munged slurmctld slurmd sshd nsenter unshare fusermount3
[ -x "$BIN/sfs-mds" ] && [ -x "$BIN/sfs-mount" ] || skip_all "StratusFS is not built"
T_TIMEOUT=300

plan 9
C=sh$$
rig_init "$C"
rig_node "$C-scheduler" "$RIG_NET.10" scheduler slurm.role=scheduler slurm.cores_per_node=1 slurm.shared=scheduler
rig_node "$C-execute-1" "$RIG_NET.11" execute slurm.role=execute slurm.shared=scheduler
S=$C-scheduler
E=$C-execute-1

rig_up "$S" && rig_spec "$S" slurm default && rig_spec "$S" slurm scheduler
is "$?" 0 "the scheduler comes up: its /shared server, slurm.conf, slurmctld"
like "$(rig_exec "$S" grep ' /shared ' /proc/mounts)" "^$RIG_NET.10:9810:/shared /shared fuse.sfs" \
	"the scheduler mounts the StratusFS it serves at /shared"
is "$(cat "$R/values/$C/slurm.shared")" "$RIG_NET.10:9810 shared" "and publishes its address (slurm.shared)"
rig_up "$E" && rig_spec "$E" slurm default && rig_spec "$E" slurm execute
is "$?" 0 "the execute node comes up: it looks the server up, mounts /shared, reads slurm.conf from it"
like "$(rig_exec "$E" grep ' /etc/slurm ' /proc/mounts)" " /etc/slurm fuse.sfs" "its /etc/slurm is /shared/slurm of the scheduler's file system"
ok "no host folder is used for /shared" test ! -e "$R/data/clusters/$C/shared"
rig_exec "$S" sh -c "echo 'from the scheduler $$' >/shared/home/probe"
is "$(rig_exec "$E" cat /shared/home/probe)" "from the scheduler $$" "a file written on the scheduler reads back on the execute node"
ok "the execute node registers and is idle" t_wait 60 "idle node" \
	sh -c "[ \"\$(nsenter -t $(rig_pid "$S") -n -u -m sinfo -h -N -t idle -o %N)\" = '$E' ]"
job=$(rig_exec "$S" sbatch --parsable -N 1 -o /shared/home/out-%j --wrap 'hostname; cat /shared/home/probe')
ok "a job's output, written by the execute node, reads back on the scheduler" t_wait 60 "job $job output" \
	sh -c "[ \"\$(nsenter -t $(rig_pid "$S") -m cat /shared/home/out-$job 2>/dev/null | tr '\n' ' ')\" = '$E from the scheduler $$ ' ]"
