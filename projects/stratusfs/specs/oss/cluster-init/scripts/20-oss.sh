#!/bin/bash
# sfs-oss: one OST on this node's local disk, registered with the cluster's MDS.
set -eu
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/sfs-lib.sh"

mds_ip=$(stratus-node search | awk -F '\t' '$2 == "mds" { print $4; exit }')
[ -n "$mds_ip" ] || die "cluster '$STRATUS_CLUSTER' has no mds node (stratus-node search); is it a stratusfs cluster?"
# The OST holds at most stratusfs.ost_size_gb GiB (the template's OssDiskSize).
start_oss "$mds_ip:$SFS_PORT" "$(cfg stratusfs.ost_size_gb 0)"
