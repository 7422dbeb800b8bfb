#!/bin/bash
# The autoscale programs and the environment they need: files/slurm-autoscaler
# (the default, slurm.autoscale_mode = watch) and, for slurm.autoscale_mode =
# powersave, files/slurm-power as Slurm's ResumeProgram, SuspendProgram and
# ResumeFailProgram (slurmctld gives them almost no environment).
set -eu
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/slurm-lib.sh"

bin=$ND/bin
install -d -m 0755 "$bin"
install -m 0755 "$STRATUS_SPEC_DIR/files/slurm-power" "$STRATUS_SPEC_DIR/files/slurm-autoscaler" "$bin/"
for a in resume suspend resume-fail; do ln -sf slurm-power "$bin/slurm-$a"; done
agent=$(command -v stratus-node) || die "stratus-node is not on PATH ($PATH)"
{
	echo "# environment of $bin/slurm-power, written by cluster-init"
	printf 'export PATH=%q\n' "$(dirname "$agent"):/usr/sbin:/usr/bin:/sbin:/bin"
	printf 'export STRATUS_NODE_NAME=%q STRATUS_CLUSTER=%q\n' "$NODE" "$CLUSTER"
	printf 'export STRATUS_NODE_CONFIG=%q STRATUS_AGENT_CONFIG=%q\n' "${STRATUS_NODE_CONFIG:-}" "${STRATUS_AGENT_CONFIG:-}"
	printf 'SLURM_IDLE_TIME=%q\n' "$(cfg slurm.idle_time 300)"
	printf 'SLURM_RESUME_RETRY=%q\n' "$(cfg slurm.resume_retry 60)"
} >"$bin/autoscale.env.new"
mv -f "$bin/autoscale.env.new" "$bin/autoscale.env"
log "autoscale programs in $bin (log $ND/autoscale.log); autoscale $(cfg slurm.autoscale false), mode $(cfg slurm.autoscale_mode watch)"
