#!/bin/bash
# Storage nodes: the storage cluster's own MUNGE key (made by the manager,
# handed out in the node configuration) and the node's munged for sfs-mds and
# sfs-oss.  Clients get theirs in the client spec.
set -eu
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/sfs-lib.sh"

role=$(cfg stratusfs.role client)
[ "$role" = client ] && { log "client node: its munged comes with the client spec"; exit 0; }
install -d -m 0755 "$ND"
key=$ND/munge.key
# The manager makes each cluster's key and hands it to the cluster's nodes
# (munge.key); a template may set stratusfs.munge_key instead.
install_key "$key" stratusfs.munge_key munge.key ||
	die "the node configuration has no MUNGE key (munge.key); the manager hands it out: is stratusd older than this project?"
log "munge key of storage cluster '$STRATUS_CLUSTER' from the node configuration"
start_munged "$key" "$ND/munge"
