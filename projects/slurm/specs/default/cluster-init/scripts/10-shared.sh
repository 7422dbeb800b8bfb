#!/bin/bash
# /shared: the cluster-wide folder (home of the cluster's users, /shared/bin,
# the Slurm configuration), bound in this node's mount namespace from the
# cluster's folder on the host (slurm.shared = host).  When the scheduler
# serves it (slurm.shared = scheduler: nodes on different machines),
# 25-shared.sh mounts it once munged runs.
set -eu
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/slurm-lib.sh"

if [ "$(shared_mode)" != host ]; then
	log "/shared is served by the scheduler node (slurm.shared $(cfg slurm.shared auto)): 25-shared.sh mounts it"
	exit 0
fi

install -d -m 0755 "$SHARED_SRC" "$SHARED_SRC/bin" "$SHARED_SRC/home" "$SHARED_SRC/slurm"
bind_dir "$SHARED_SRC" /shared
# Every Slurm command on this node reads /etc/slurm/slurm.conf, the cluster's.
bind_dir /shared/slurm /etc/slurm
log "/shared is $SHARED_SRC; /etc/slurm is /shared/slurm"
