#!/bin/bash
# sfs-mds on this node's address, published through the manager for clients.
set -eu
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/sfs-lib.sh"

ip=$(my_ip)
fsname=$(cfg stratusfs.fsname stratusfs)
install -d -m 0700 "$ND/mdt"
if pid_alive "$ND/mds.pid"; then
	log "sfs-mds already runs (pid $(cat "$ND/mds.pid"))"
else
	rm -f "$ND/mds.port"
	daemon "$ND/mds.pid" "$ND/mds.out" "$SFS_BIN/sfs-mds" --dir "$ND/mdt" --listen "$ip" --port "$SFS_PORT" \
		--port-file "$ND/mds.port" --fsname "$fsname" \
		--stripe-count "$(cfg stratusfs.stripe_count 1)" --stripe-size "$(cfg stratusfs.stripe_size 1m)" \
		--munge-socket "$ND/munge/munge.socket" --log-file "$ND/mds.log"
	wait_for 30 "sfs-mds to listen (see $ND/mds.log, $ND/mds.out)" test -s "$ND/mds.port"
	log "sfs-mds runs (pid $(cat "$ND/mds.pid")) on $ip:$SFS_PORT, file system '$fsname'; log $ND/mds.log"
fi
stratus-node publish stratusfs.mds "$ip:$SFS_PORT $fsname" ||
	die "cannot publish the MDS address through the manager (stratus-node publish stratusfs.mds)"
log "published stratusfs.mds = $ip:$SFS_PORT $fsname (clients: stratus-node lookup --cluster $STRATUS_CLUSTER stratusfs.mds)"
# Also in this node's own data folder, for a person (or a test) on its machine.
kd=$STRATUS_DATA/clusters/$STRATUS_CLUSTER/stratusfs
install -d -m 0755 "$kd"
echo "$ip:$SFS_PORT $fsname" >"$kd/mds.new"
mv -f "$kd/mds.new" "$kd/mds"
