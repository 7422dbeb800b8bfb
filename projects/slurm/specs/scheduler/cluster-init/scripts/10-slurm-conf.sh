#!/bin/bash
# Write the cluster's slurm.conf from its nodes: every slot of every execute
# node array (named CLUSTER-ARRAY-N, listed up to the array's MaxCount with
# its address, whether it runs or not), one partition per node array.
set -eu
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/slurm-lib.sh"

conf=/shared/slurm/slurm.conf
mytemplate=$(cluster_nodes | awk -v n="$NODE" '$1 == n { print $4 }')
myip=$(cluster_nodes | awk -v n="$NODE" '$1 == n { print $2 }')
[ -n "$myip" ] || die "this node '$NODE' is not among the cluster's nodes (stratus-node search); is the manager reachable?"
partitions=$(cfg slurm.partitions "")
[ -n "$partitions" ] || partitions=$(cluster_nodes | awk -v t="$mytemplate" '$4 != t { print $4 }' | sort -u)
[ -n "$partitions" ] || die "cluster '$CLUSTER' has no execute node array; add a [[nodearray execute]] to its template"
cores=$(cfg slurm.cores_per_node "$(nproc)")
memory=$(cfg slurm.memory_mb 1000)
autoscale=$(cfg slurm.autoscale false)
idle=$(cfg slurm.idle_time 300)
mode=$(cfg slurm.autoscale_mode watch)
case $mode in watch|powersave) ;; *) die "slurm.autoscale_mode is '$mode'; use 'watch' or 'powersave'" ;; esac
powersave=false
[ "$autoscale" = true ] && [ "$mode" = powersave ] && powersave=true
# A node that does not exist yet is DOWN; it enters service when its slurmd
# registers (ReturnToService=2).  Under power saving, it is CLOUD instead.
state=DOWN
[ "$powersave" = true ] && state=CLOUD
sd=$ND/slurmctld
install -d -m 0755 "$sd" "$sd/state"

tmp=$conf.new
{
	echo "# slurm.conf of cluster '$CLUSTER', written by the slurm project's scheduler spec"
	echo "# on $NODE at $(date -u +%Y-%m-%dT%H:%M:%SZ). Re-run cluster-init to rewrite it."
	echo "ClusterName=$(echo "$CLUSTER" | tr 'A-Z' 'a-z')"
	echo "SlurmctldHost=$NODE($myip)"
	echo "SlurmUser=root"
	echo "AuthType=auth/munge"
	echo "CredType=cred/munge"
	echo "StateSaveLocation=$sd/state"
	echo "SlurmctldPidFile=$sd/slurmctld.pid"
	echo "SlurmctldLogFile=$sd/slurmctld.log"
	# Every slurmd of every node shares the host's /var and /run: %n makes them per node.
	echo "SlurmdSpoolDir=$STRATUS_DATA/nodes/%n/slurmd"
	echo "SlurmdPidFile=$STRATUS_DATA/nodes/%n/slurmd.pid"
	echo "SlurmdLogFile=$STRATUS_DATA/nodes/%n/slurmd.log"
	echo "ProctrackType=proctrack/linuxproc"
	echo "TaskPlugin=task/none"
	echo "SelectType=select/cons_tres"
	echo "SelectTypeParameters=CR_Core"
	echo "SchedulerType=sched/backfill"
	echo "SlurmdParameters=config_overrides"
	echo "MpiDefault=none"
	echo "ReturnToService=2"
	echo "SlurmctldTimeout=30"
	echo "SlurmdTimeout=60"
	echo "InactiveLimit=0"
	echo "KillWait=5"
	echo "MinJobAge=300"
	echo "JobCompType=jobcomp/none"
	echo "AccountingStorageType=accounting_storage/none"
	echo "TreeWidth=65533"
	echo "PrivateData=cloud"
	if [ "$powersave" = true ]; then
		# Power saving: slurmctld asks the manager for nodes (files/slurm-power).
		echo "ResumeProgram=$ND/bin/slurm-resume"
		echo "SuspendProgram=$ND/bin/slurm-suspend"
		echo "ResumeFailProgram=$ND/bin/slurm-resume-fail"
		echo "SuspendTime=$idle"
		echo "ResumeTimeout=$(cfg slurm.resume_timeout 300)"
		# A node being powered down cannot be resumed before SuspendTimeout
		# ends; ours go in well under a second (60 s made a job wait 106 s).
		echo "SuspendTimeout=$(cfg slurm.suspend_timeout 10)"
		echo "ResumeRate=0"
		echo "SuspendRate=0"
		echo "SlurmctldParameters=idle_on_node_suspend"
	fi
	first=YES
	for p in $partitions; do
		names=""
		while read -r name ip _ _; do
			# On a host pool a node's address is its machine's, known only once it
			# is made: Slurm looks the name up in /etc/hosts (kept current by the
			# ssh provider) and 90-slurmd.sh tells slurmctld.
			[ -z "${STRATUS_HOST_TAG:-}" ] || ip=$name
			echo "NodeName=$name NodeAddr=$ip NodeHostname=$name CPUs=$cores Sockets=1 CoresPerSocket=$cores ThreadsPerCore=1 RealMemory=$memory State=$state"
			names="${names:+$names,}$name"
		done < <(cluster_nodes "$p")
		[ -n "$names" ] || die "node array '$p' has no nodes or slots; give it a MaxCount"
		echo "PartitionName=$p Nodes=$names Default=$first MaxTime=INFINITE State=UP OverSubscribe=NO"
		first=NO
	done
} >"$tmp"
if [ -f "$conf" ] && cmp -s <(grep -v '^#' "$conf") <(grep -v '^#' "$tmp"); then
	rm -f "$tmp"
	log "slurm.conf unchanged ($conf)"
else
	mv -f "$tmp" "$conf"
	log "wrote $conf: partitions $partitions, $(grep -c '^NodeName=' "$conf") nodes, autoscale $autoscale ($mode)"
fi
