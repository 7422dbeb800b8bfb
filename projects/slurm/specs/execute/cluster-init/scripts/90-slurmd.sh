#!/bin/bash
# Start this node's slurmd, last of its cluster-init (so Slurm sends no job to
# a node whose software is not all in place).  -b: tell slurmctld at once that
# the node (re)booted, which a powered-up CLOUD node must do.
set -eu
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/slurm-lib.sh"

wait_for "$(cfg slurm.wait_timeout 300)" "the scheduler's slurm.conf (/shared/slurm/slurm.conf)" \
	grep -q "^NodeName=$NODE " /etc/slurm/slurm.conf
if [ -n "${STRATUS_HOST_TAG:-}" ]; then
	# A machine of a host pool: this node's address is the machine's, not the
	# slot's address slurm.conf was written with; tell slurmctld.
	myip=$(cfg ip)
	scontrol update NodeName="$NODE" NodeAddr="$myip" NodeHostname="$NODE" ||
		die "cannot tell slurmctld that node '$NODE' is at $myip (scontrol update NodeAddr)"
	log "slurmctld told: $NODE is at $myip"
fi
install -d -m 0755 "$ND/slurmd"
pidf=$ND/slurmd.pid
if pid_alive "$pidf"; then
	log "slurmd already runs (pid $(cat "$pidf"))"
	exit 0
fi
/usr/sbin/slurmd -b -N "$NODE" </dev/null >>"$ND/slurmd.out" 2>&1
wait_for 30 "slurmd to start (see $ND/slurmd.log)" pid_alive "$pidf"
log "slurmd runs (pid $(cat "$pidf")); log $ND/slurmd.log"
