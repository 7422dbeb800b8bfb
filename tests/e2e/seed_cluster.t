#!/bin/bash
# The seed's cluster end to end through stratusd, from empty: the shipped
# templates and projects, a storage cluster (mds with its own OST + 1 oss) and
# an autoscaling Slurm cluster on its network that mounts it at /lustre.  Jobs
# run as the cluster user (hpcuser), never root.  An
# sbatch MPI job of 2 nodes x 2 ranks with no execute node up makes two nodes
# come up (the autoscaler asks stratusd), runs stratus-ior as /shared/bin/ior
# on /lustre, writes its output; the seed's `mpiexec --hostfile` runs from the
# scheduler over ssh; after the idle time the nodes are terminated, records
# kept.  Every scale decision is an event with its reason.
export TMPDIR=/var/tmp
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mgr_lib.sh"
t_need_root
t_need_cmd munged slurmctld slurmd mpirun sshd perl fusermount3
for p in stratusd stratus stratus-node sfs-mds sfs-mount stratus-ior; do
	[ -x "$BIN/$p" ] || skip_all "$p is not built"
done

ST=st$$
C=c$$
ND=/var/lib/stratus-nodes
IDLE=5
# A /24 nobody routes yet: the storage cluster's, shared by the compute cluster.
x=$(( ($$ / 256) % 200 + 20 )); y=$(( ($$ + 128) % 256 ))
for try in 0 1 2 3 4 5 6 7; do
	net="10.$x.$(( (y + try) % 256 ))"
	ip -4 route show | grep -q "^$net\." || break
done
MGR_NET=$net.0/24
mgr_start "$T/state" || bail "stratusd did not start"
mgr_login || bail "stratus initialize failed"
# Clusters down (their nodes destroyed) before stratusd stops; then the nodes' data.
live() { stratus show_nodes "$1" 2>/dev/null | grep -qE 'Acquiring|Preparing|Ready|Failed|Terminating'; }
down() { live "$1" || return 0; stratus terminate_cluster "$1" >/dev/null 2>&1; t_wait 60 "$1 off" eval "! live $1"; }
t_on_cleanup "rm -rf $ND/clusters/$ST $ND/clusters/$C $ND/nodes/$ST-* $ND/nodes/$C-*"
t_on_cleanup "down $ST"
t_on_cleanup "down $C"

plan 26
# node_state NODE -> its state; ready CLUSTER NODE
node_state() { mgr_node_state "$1" "$2"; }
events() { stratus show_cluster "$1" -l 2>/dev/null; mgr_curl GET "/clusters/$1/events" -H "Authorization: Bearer $(mgr_token)" >/dev/null; cat "$T/body"; }

out=$( (cd "$TOP/projects/slurm" && stratus project upload default) 2>&1 && (cd "$TOP/projects/stratusfs" && stratus project upload default) 2>&1)
like "$(echo $out)" "Uploaded project 'slurm'.*Uploaded project 'stratusfs'" "both projects upload to the default locker"
ok "the shipped templates import" sh -c "stratus import_template -f '$TOP/templates/stratusfs.txt' && stratus import_template -f '$TOP/templates/slurm.txt'"

echo '{"InitialOss": 1, "MaxOss": 3, "FsName": "seedfs"}' >"$T/st.json"
ok "the storage cluster is created and started" sh -c "stratus create_cluster stratusfs $ST -p $T/st.json && stratus start_cluster $ST"
ok "its mds and oss nodes become Ready" t_wait 120 "storage Ready" \
	sh -c "[ \"\$(stratus show_nodes $ST | grep -c Ready)\" = 2 ]"

printf '{"StorageCluster": "%s", "MaxExecuteNodes": 3, "IdleTime": %d, "ExecuteCpus": 2}\n' "$ST" "$IDLE" >"$T/c.json"
ok "the compute cluster is created on the storage network and started" sh -c "stratus create_cluster slurm $C -p $T/c.json && stratus start_cluster $C"
ok "its scheduler becomes Ready" t_wait 120 "scheduler Ready" eval "[ \"\$(mgr_node_state $C $C-scheduler)\" = Ready ]" || {
	stratus show_nodes "$C" -l 2>&1 | tail -n 40 | sed 's/^/# /'; }
slots=$(stratus show_nodes "$C" --filter 'Template == "execute"' | grep -c Off)
is "$slots" 3 "the execute array's 3 slots are known, Off"
sched_ip=$(stratus show_nodes "$C" --format json | NODE="$C-scheduler" perl -MJSON::PP -0e \
	'for (@{decode_json(<STDIN>)}) { print $_->{ip} if $_->{name} eq $ENV{NODE} }')
like "$sched_ip" "^$net\\." "the scheduler is on the storage cluster's network"
# on CMD...: run CMD (one shell command line) on the scheduler as root;
# as_user CMD...: as the cluster user, as the seed's user would (jobs never run as root).
on() { stratus ssh "$C" "$C-scheduler" "$*"; }
U=hpcuser
as_user() { stratus ssh --user "$U" "$C" "$C-scheduler" "$*"; }
H=$ND/clusters/$C/shared/home/$U
like "$(echo $(as_user 'id; echo home $HOME; ls -ld /lustre /lustre/$USER'))" \
	"uid=20001\\($U\\) gid=20001\\($U\\).*home /shared/home/$U.*drwxrwxrwt .* /lustre.* $U $U .* /lustre/$U" \
	"stratus ssh --user $U logs in as the cluster user (uid 20001, home /shared/home/$U); /lustre is 1777, /lustre/$U its own"

# The seed's IOR job, small: 2 nodes x 2 ranks, with no execute node up.
# As the cluster user: OpenMPI without OMPI_ALLOW_RUN_AS_ROOT.
mpienv="OMPI_MCA_btl_tcp_if_include=$net.0/24 OMPI_MCA_oob_tcp_if_include=$net.0/24"
cat >"$H/ior.sh" <<EOF
#!/bin/bash
#SBATCH -N 2
#SBATCH --ntasks-per-node=2
#SBATCH -o /shared/home/$U/ior-%j.out
date +%s.%N >/shared/home/$U/started-\$SLURM_JOB_ID
echo "job user \$(id -un)"
export $mpienv
srun -l sh -c 'mount | grep " /lustre "' | sort | head -n 2
mpirun /shared/bin/ior -a MPIIO -v -B -F -r -w -t 1m -b 8m -o /lustre/test.\$(date +%Y-%m-%d_%H-%M-%S)
EOF
t0=$(date +%s.%N)
job=$(as_user sbatch --parsable "/shared/home/$U/ior.sh" 2>&1)
like "$job" '^[0-9]+$' "sbatch on the scheduler (as $U) takes the job with no execute node up"
ok "the job runs to its end" t_wait 180 "job $job output" grep -q 'Max Read' "$H/ior-$job.out"
lat=$(awk -v a="$t0" -v b="$(cat "$H/started-$job" 2>/dev/null || echo 0)" 'BEGIN { printf "%.1f", b - a }')
diag "sbatch to running with no execute node up, through stratusd: ${lat}s"
out=$(cat "$H/ior-$job.out" 2>/dev/null)
like "$(echo $out)" "job user $U .*Max Write: .*MiB/sec" "IOR ran as $U with 4 ranks on /lustre and wrote its summary"
like "$(echo $out)" "0: .* on /lustre type fuse.* 1: .* on /lustre type fuse" "/lustre is mounted on the execute nodes (mount | grep)"
is "$(stratus show_nodes "$C" --filter 'Template == "execute"' | grep -c Ready)" 2 "exactly two execute nodes came up"
like "$(events "$C")" "resume asked by $C-scheduler: slurm: job\\(s\\) $job" "the scale-up is an event with its reason"

# The seed's form: a hostfile and mpiexec from the scheduler, over ssh, while
# a job holds the two nodes.
hold=$(as_user "sbatch --parsable -N 2 -o /dev/null --wrap 'sleep 300'")
t_wait 60 "hold job running" eval "on squeue -h -j $hold -o %T | grep -q RUNNING"
as_user "for h in \$(scontrol show hostnames \$(squeue -h -j $hold -o %N)); do echo \$h slots=2; done >~/hosts"
out=$(as_user "cd ~ && env $mpienv mpiexec --hostfile hosts -np 4 /shared/bin/ior -a MPIIO -v -B -F -r -w -t 1m -b 4m -o /lustre/test.\$(/usr/bin/date +%Y-%m-%d_%H-%M-%S)" 2>&1)
like "$out" "Max Read: .*MiB/sec" "mpiexec --hostfile hosts -np 4 /shared/bin/ior runs across both nodes from the scheduler, as $U (ssh with its own key)"
on "mkdir -p /lustre/rootonly && chmod 0755 /lustre/rootonly"
out=$(as_user "touch /lustre/rootonly/x" 2>&1)
like "$out" "touch: cannot touch '/lustre/rootonly/x': Permission denied" "StratusFS enforces permissions: $U cannot write in root's 0755 folder"

# The seed's "Increasing Storage Size": add_node -t oss while a job on the
# cluster writes and re-reads files on /lustre.
cat >"$H/grow.sh" <<'GROW'
#!/bin/bash
set -e
mkdir -p "/lustre/$USER/grow"
cd "/lustre/$USER/grow"
for i in $(seq 1 30); do
	head -c 524288 /dev/urandom >f$i
	sha256sum f$i >>sums
	sha256sum -c --quiet sums
	sleep 0.3
done
echo "grow: $(wc -l <sums) files written and re-read intact"
GROW
chmod +x "$H/grow.sh"
as_user "srun --jobid=$hold --overlap -N1 -n1 /shared/home/$U/grow.sh" >"$T/grow.out" 2>&1 &
grow=$!
ok "add_node $ST -t oss -c 1 while the job runs" stratus add_node "$ST" -t oss -c 1
ok "the new oss node becomes Ready" t_wait 120 "oss-2 Ready" eval "[ \"\$(mgr_node_state $ST $ST-oss-2)\" = Ready ]"
wait "$grow"
like "$(cat "$T/grow.out")" "grow: 30 files written and re-read intact" "the job's data is intact across the growth"
x1=$(on "scontrol show hostnames \$(squeue -h -j $hold -o %N) | head -n 1")
oss2_ip=$(stratus show_nodes "$ST" --format json | NODE="$ST-oss-2" perl -MJSON::PP -0e \
	'for (@{decode_json(<STDIN>)}) { print $_->{ip} if $_->{name} eq $ENV{NODE} }')
new_idx=$(stratus ssh "$C" "$x1" "$BIN/sfs osts /lustre" | awk -v a="$oss2_ip:" 'index($3, a) == 1 { sub(":", "", $1); print $1 }')
like "$new_idx" '^[0-9]+$' "the mounted file system lists the new OST ($oss2_ip)"
is "$(stratus ssh "$C" "$x1" "$BIN/sfs df /lustre" | awk '$1 ~ /^OST/ { print $2 }' | sort -u)" 8388608 \
	"sfs df shows every OST at the template's OssDiskSize (8 GiB, sfs-oss --capacity)"
placed=$(stratus ssh "$C" "$x1" "for i in 1 2 3 4 5 6; do echo x >/lustre/new.\$i; $BIN/sfs getstripe /lustre/new.\$i; done" |
	awk '$1 ~ /^[0-9]+$/ && NF == 2 { print $1 }' | sort | uniq -c)
is "$(echo "$placed" | awk -v i="$new_idx" '$2 == i { print "yes" }')" yes "new files are placed on the new OST too"
on scancel "$hold"

# Idle nodes go after the idle time, their records kept.
ok "the idle nodes are terminated" t_wait $((IDLE + 60)) "execute nodes Off" \
	sh -c "[ \"\$(stratus show_nodes $C --filter 'Template == \"execute\"' | grep -c Off)\" = 3 ]"
like "$(events "$C")" "suspend asked by $C-scheduler: slurm: idle" "the scale-down is an event with its reason"

# A node made again after it was given back runs its cluster-init again (its
# daemons went with it) and takes the next job.
job3=$(as_user "sbatch --parsable -N 2 -o /shared/home/$U/again-%j.out --wrap 'srun hostname'")
ok "a job after the scale-down brings nodes up again and runs" t_wait 90 "job $job3 output" \
	sh -c "[ \$(grep -c '^$C-execute' $H/again-$job3.out 2>/dev/null) -eq 2 ]"
