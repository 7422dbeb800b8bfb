#!/bin/bash
# Install Debian's Slurm, MUNGE, OpenMPI and sshd if this node lacks them, and
# put the project's helpers where the other specs find them.
set -eu
D=$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)
ND=$D/nodes/$STRATUS_NODE_NAME
install -d -m 0755 "$ND/lib"
install -m 0644 "$STRATUS_SPEC_DIR/files/slurm-lib.sh" "$ND/lib/slurm-lib.sh"
. "$ND/lib/slurm-lib.sh"

want="munge slurmctld slurmd slurm-client openmpi-bin libopenmpi-dev openssh-server openssh-client"
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	log "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
else
	log "packages present: $want"
fi
