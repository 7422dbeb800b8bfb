#!/bin/bash
# Start slurmctld (or tell a running one to re-read slurm.conf).
set -eu
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/slurm-lib.sh"

pidf=$ND/slurmctld/slurmctld.pid
if pid_alive "$pidf"; then
	scontrol reconfigure
	log "slurmctld already runs (pid $(cat "$pidf")): reconfigured"
	exit 0
fi
/usr/sbin/slurmctld </dev/null >>"$ND/slurmctld/slurmctld.out" 2>&1
wait_for 30 "slurmctld to answer (see $ND/slurmctld/slurmctld.log)" scontrol ping
log "slurmctld runs (pid $(cat "$pidf")); log $ND/slurmctld/slurmctld.log"
