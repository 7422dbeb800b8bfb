#!/bin/bash
# An OST on the mds node too, when stratusfs.mds_serves_ost (as
# cyclecloud-lustre's MDS does), so one node is a working file system.
set -eu
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/sfs-lib.sh"

if [ "$(cfg stratusfs.mds_serves_ost true)" != true ]; then
	log "no OST on the mds node (stratusfs.mds_serves_ost is not true)"
	exit 0
fi
# The OST holds at most stratusfs.ost_size_gb GiB (the template's OssDiskSize).
start_oss "$(my_ip):$SFS_PORT" "$(cfg stratusfs.ost_size_gb 0)"
