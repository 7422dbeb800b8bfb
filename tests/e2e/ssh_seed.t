#!/bin/bash
# The seed's clusters on "existing machines": five machines (network, UTS,
# PID and mount namespaces, a private /tmp /opt /root /etc/hosts and a private
# node data folder, each with its own sshd) in a host pool that stratusd
# reaches only through ssh: no folder is shared between machines (the MUNGE
# keys come from the manager, the MDS and /shared addresses are published
# through it, /shared is served by the scheduler).  From the SHIPPED templates
# and projects: the storage cluster (mds with its own OST) and the autoscaling
# Slurm cluster come up on the pool; a 2-node job makes the autoscaler take
# two more machines, /lustre and /shared are mounted on both, a file written
# to /shared on the scheduler reads back on them; mpiexec from the scheduler
# runs across the two machines over ssh (the cluster's key installed for
# root); a machine whose sshd stops fails its node and the next job's node
# takes another machine; terminating the clusters leaves every machine clean.
export TMPDIR=/var/tmp
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
t_need_root
t_need_cmd ip sshd ssh ssh-keygen nsenter unshare curl perl tar munged slurmctld slurmd mpirun fusermount3
for p in stratusd stratus stratus-node sfs-mds sfs-mount stratus-ior; do
	[ -x "$BIN/$p" ] || skip_all "$p is not built"
done

plan 26
NM=5
ssh-keygen -q -t ed25519 -N '' -C "pool-$$" -f "$T/poolkey" || bail "ssh-keygen failed"
ssh_net_up || bail "cannot make the test's bridge"
# The node data folder (NodeDataDir): the same path on every machine, but each
# machine's own folder ($T/mI/data) mounted there: nothing is shared.  The
# path is the test's own, so nothing lands in the host's /var/lib; on the host
# it stays an empty mount point.
DATA="/var/tmp/stratus-pooldata.$$"
mkdir -p -m 0755 "$DATA" || bail "cannot make '$DATA'"
t_on_cleanup "rmdir '$DATA'"
SSH_PRIVATE_DATA=$DATA
for i in $(seq 1 $NM); do ssh_machine_up "$i" || bail "machine$i did not start"; m_count_mounts "$i"; done

ssh_manager_up

ST=st$$
C=c$$
live() { stratus show_nodes "$1" 2>/dev/null | grep -qE 'Acquiring|Preparing|Ready|Failed|Terminating'; }
down() { live "$1" || return 0; stratus terminate_cluster "$1" --force >/dev/null 2>&1; t_wait 120 "$1 off" eval "! live $1"; }
t_on_cleanup "down $ST"
t_on_cleanup "down $C"
nstate() { stratus show_nodes "$1" --format json | NODE="$2" perl -MJSON::PP -0e \
	'for (@{decode_json(<STDIN>)}) { print $_->{state} if $_->{name} eq $ENV{NODE} }'; }
nip() { stratus show_nodes "$1" --format json | NODE="$2" perl -MJSON::PP -0e \
	'for (@{decode_json(<STDIN>)}) { print $_->{ip} if $_->{name} eq $ENV{NODE} }'; }
# mi IP: the machine number of a pool address.
mi() { echo $(( ${1##*.} - 10 )); }

P=pool$$
stratus pool create "$P" --probe-interval 500ms --fail-after 3s --connect-timeout 2 >/dev/null || bail "pool create failed"
for i in $(seq 1 $NM); do
	stratus host add "$P" "h$$-$i" "$SSH_NET.$((10 + i))" --key "$T/poolkey" >/dev/null || bail "host add h$i failed"
done
is "$(stratus pool list | awk -v p="$P" '$1 == p' | grep -c "$P")" 1 "a pool of $NM machines is registered"

out=$( (cd "$TOP/projects/slurm" && stratus project upload default) 2>&1 && (cd "$TOP/projects/stratusfs" && stratus project upload default) 2>&1)
like "$(echo $out)" "Uploaded project 'slurm'.*Uploaded project 'stratusfs'" "the shipped projects upload"
ok "the shipped templates import" sh -c "stratus import_template -f '$TOP/templates/stratusfs.txt' >/dev/null && stratus import_template -f '$TOP/templates/slurm.txt' >/dev/null"

# ---- the storage cluster on the pool ----
printf '{"InitialOss": 0, "FsName": "poolfs", "HostPool": "%s", "NodeDataDir": "%s"}\n' "$P" "$DATA" >"$T/st.json"
stratus create_cluster stratusfs "$ST" -p "$T/st.json" >/dev/null && stratus start_cluster "$ST" >/dev/null
ok "the storage cluster's mds (with its OST) becomes Ready on a pool machine" \
	t_wait 120 "mds Ready" eval "[ \"\$(nstate $ST $ST-mds)\" = Ready ]" ||
	stratus show_nodes "$ST" -l 2>&1 | sed 's/^/# /'
mds_ip=$(nip "$ST" "$ST-mds")
like "$mds_ip" "^$SSH_NET\\.1[0-9]\$" "it runs on a machine of the pool ($mds_ip)"
like "$(m_exec "$(mi "$mds_ip")" ps -e -o comm=)" "sfs-mds" "sfs-mds runs in that machine"

# ---- the autoscaling Slurm cluster on the pool ----
printf '{"StorageCluster": "%s", "MaxExecuteNodes": 3, "IdleTime": 5, "ExecuteCpus": 1, "HostPool": "%s", "NodeDataDir": "%s"}\n' \
	"$ST" "$P" "$DATA" >"$T/c.json"
stratus create_cluster slurm "$C" -p "$T/c.json" >/dev/null && stratus start_cluster "$C" >/dev/null
ok "the Slurm scheduler becomes Ready on a pool machine" \
	t_wait 120 "scheduler Ready" eval "[ \"\$(nstate $C $C-scheduler)\" = Ready ]" ||
	stratus show_nodes "$C" -l 2>&1 | tail -n 40 | sed 's/^/# /'
sched_i=$(mi "$(nip "$C" "$C-scheduler")")
on() { m_exec "$sched_i" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root sh -c "$*"; }
# as_user CMD: as the cluster user (jobs never run as root), in its home.
U=hpcuser
as_user() { m_exec "$sched_i" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/shared/home/$U USER=$U LOGNAME=$U \
	runuser -u "$U" -- sh -c "cd && $*"; }
is "$(m_exec "$sched_i" stat -c '%a %s' /opt/stratus/secrets.json | cut -d' ' -f1):$(m_exec "$sched_i" stat -c %a /opt/stratus/state/node.json)" \
	"600:600" "the cluster's key reached the scheduler's machine over ssh only: secrets.json and the agent's cache are mode 0600"
# shcat FILE: a file of the cluster user's home on the scheduler's /shared (no host folder holds it).
shcat() { on "cat /shared/home/$U/$1" 2>/dev/null; }
like "$(m_exec "$sched_i" grep ' /shared ' /proc/mounts)" "^$SSH_NET\.1[0-9]:9810:/shared /shared fuse" \
	"/shared on the scheduler is the StratusFS it serves itself (no host folder)"
is "$(ls -A "$DATA"):$(m_exec "$(mi "$mds_ip")" sh -c "ls '$DATA/nodes'")" ":$ST-mds" \
	"no folder is shared: the host's node data folder is empty, the mds machine's holds only its own node"
mpienv="OMPI_MCA_btl_tcp_if_include=$SSH_NET.0/24 OMPI_MCA_oob_tcp_if_include=$SSH_NET.0/24"
as_user "cat >job.sh" <<EOF
#!/bin/bash
#SBATCH -N 2
#SBATCH --ntasks-per-node=1
#SBATCH -o /shared/home/$U/job-%j.out
export $mpienv
srun -l sh -c 'echo "\$(hostname) \$(grep " /lustre " /proc/mounts | cut -d" " -f3)"' | sort
sleep 300
EOF
job=$(as_user "sbatch --parsable job.sh" 2>&1)
like "$job" '^[0-9]+$' "sbatch on the scheduler (as $U) takes a 2-node job with no execute node up"
ok "the autoscaler brings two execute nodes up on pool machines and the job runs" \
	t_wait 180 "job $job running" eval "on squeue -h -j $job -o %T | grep -q RUNNING" ||
	stratus show_nodes "$C" -l 2>&1 | tail -n 30 | sed 's/^/# /'
t_wait 20 "job output" eval "shcat job-$job.out | grep -q '^1: '"
like "$(shcat "job-$job.out" | tr '\n' ' ')" "0: $C-execute-[0-9] fuse.* 1: $C-execute-[0-9] fuse" \
	"/lustre is mounted (StratusFS over FUSE) on both execute nodes"
e1=$(nip "$C" "$C-execute-1"); e2=$(nip "$C" "$C-execute-2")
ok "the execute nodes are on two different pool machines" sh -c "[ -n '$e1' ] && [ -n '$e2' ] && [ '$e1' != '$e2' ] && [ '$e1' != '$mds_ip' ]"
mounts=""
for i in "$sched_i" "$(mi "$e1")" "$(mi "$e2")"; do
	mounts="$mounts $(m_exec "$i" awk '$2 == "/lustre" || $2 == "/shared" { print $2 "=" $3 }' /proc/mounts | sort | tr '\n' ' ')"
done
is "$(echo $mounts)" "/lustre=fuse.sfs /shared=fuse.sfs /lustre=fuse.sfs /shared=fuse.sfs /lustre=fuse.sfs /shared=fuse.sfs" \
	"/lustre (the storage cluster) and /shared (the scheduler's) are mounted on every compute machine: scheduler and both execute nodes"
on "echo 'written on the scheduler $$' >/shared/home/probe"
is "$(m_exec "$(mi "$e1")" cat /shared/home/probe):$(m_exec "$(mi "$e2")" cat /shared/home/probe)" \
	"written on the scheduler $$:written on the scheduler $$" "a file written to /shared on the scheduler reads back on both execute machines"
# Figures, not checked (docs/performance.md): 64 MiB through the scheduler's
# /shared and through the storage cluster's /lustre, written on one execute
# machine (with fsync), read on the other.
for fs in shared lustre; do
	w=$(m_exec "$(mi "$e1")" sh -c "dd if=/dev/zero of=/$fs/dd.$$ bs=1M count=64 conv=fsync 2>&1 | tail -n 1")
	r=$(m_exec "$(mi "$e2")" sh -c "dd if=/$fs/dd.$$ of=/dev/null bs=1M 2>&1 | tail -n 1")
	diag "64 MiB on /$fs: written on execute-1: ${w##*, }; read on execute-2: ${r##*, }"
	m_exec "$(mi "$e1")" rm -f "/$fs/dd.$$"
done

# The seed's form: mpiexec --hostfile from the scheduler, over ssh as the cluster user.
as_user "for h in \$(scontrol show hostnames \$(squeue -h -j $job -o %N)); do echo \$h slots=1; done >hosts"
out=$(as_user "env $mpienv mpiexec --hostfile hosts -np 2 /shared/bin/ior -a POSIX -w -r -F -t 1m -b 2m -o /lustre/ior.\$\$" 2>&1)
like "$out" "Max Read: .*MiB/sec" "mpiexec --hostfile -np 2 /shared/bin/ior runs as $U across the two machines onto /lustre" ||
	echo "$out" | tail -n 15 | sed 's/^/# /'
like "$(stratus ssh "$C" "$C-execute-1" hostname 2>&1)" "^$C-execute-1\$" "stratus ssh reaches a pool node as root with the cluster's key"
like "$(stratus ssh --user "$U" "$C" "$C-execute-1" 'id -un; echo $HOME' 2>&1 | tr '\n' ' ')" "^$U /shared/home/$U \$" \
	"stratus ssh --user $U reaches a pool node as the cluster user"

# ---- a machine that stops answering: its node Failed, autoscale takes another ----
x2i=$(mi "$e2")
m_stop_sshd "$x2i"
ok "an execute node whose machine's sshd stopped becomes Failed" \
	t_wait 30 "execute-2 Failed" eval "[ \"\$(nstate $C $C-execute-2)\" = Failed ]"
on "scancel $job"
# Now both execute nodes must go; a new job needs two nodes again: the failed
# one is made again on a free machine (the lost one stays quarantined).
job2=$(as_user "sbatch --parsable -N 2 -o again-%j.out --wrap 'srun hostname'" 2>&1)
ok "a job after the failure gets its nodes from the other free machines and runs" \
	t_wait 180 "job $job2 output" eval "[ \$(shcat again-$job2.out | grep -c '^$C-execute') -eq 2 ]" ||
	stratus show_nodes "$C" -l 2>&1 | tail -n 30 | sed 's/^/# /'
used=$(stratus show_nodes "$C" --format json | perl -MJSON::PP -0e 'print join " ", map { $_->{ip} } grep { $_->{state} eq "Ready" && $_->{name} =~ /execute/ } @{decode_json(<STDIN>)}')
ok "none of them is on the lost machine" sh -c "! echo ' $used ' | grep -q ' $e2 '"

# ---- terminate: every machine clean ----
m_exec "$x2i" /usr/sbin/sshd -f "$T/m$x2i/sshd_config" -E "$T/m$x2i/sshd.log"
down "$C"; down "$ST"
ok "both clusters terminate" sh -c "! live $C && ! live $ST"
stratus host clear "h$$-$x2i" >/dev/null 2>&1
ok "the lost machine is cleaned over ssh once it answers again" sh -c "stratus host list $P | grep 'h$$-$x2i ' | grep -q free"
bad=""
for i in $(seq 1 $NM); do msg=$(m_clean "$i") || bad="$bad $msg"; done
is "$bad" "" "every machine is clean: no process, mount, file or root ssh key of ours; hostname and /etc/hosts as they were"
is "$(stratus host list "$P" | grep -c ' free')" "$NM" "and every host is free in the pool"
