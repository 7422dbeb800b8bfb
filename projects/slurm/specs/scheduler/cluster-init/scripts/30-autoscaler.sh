#!/bin/bash
# Start the autoscaler (files/slurm-autoscaler) when the cluster autoscales by
# watching the queue (slurm.autoscale = true, slurm.autoscale_mode = watch).
set -eu
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/slurm-lib.sh"

if [ "$(cfg slurm.autoscale false)" != true ] || [ "$(cfg slurm.autoscale_mode watch)" != watch ]; then
	log "autoscaler not started: slurm.autoscale $(cfg slurm.autoscale false), mode $(cfg slurm.autoscale_mode watch)"
	exit 0
fi
pidf=$ND/autoscaler.pid
if pid_alive "$pidf"; then
	log "autoscaler already runs (pid $(cat "$pidf"))"
	exit 0
fi
setsid "$ND/bin/slurm-autoscaler" </dev/null >>"$ND/autoscale.log" 2>&1 &
echo $! >"$pidf"
wait_for 10 "the autoscaler to start (see $ND/autoscale.log)" grep -q started "$ND/autoscale.log"
log "autoscaler runs (pid $(cat "$pidf")); log $ND/autoscale.log"
