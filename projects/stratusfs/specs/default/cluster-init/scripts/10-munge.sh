#!/bin/bash
# Storage nodes: the storage cluster's own MUNGE key (made by the mds node,
# or handed out as stratusfs.munge_key) and the node's munged for sfs-mds and
# sfs-oss.  Clients get theirs in the client spec.
set -eu
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/sfs-lib.sh"

role=$(cfg stratusfs.role client)
[ "$role" = client ] && { log "client node: its munged comes with the client spec"; exit 0; }
kd=$STRATUS_DATA/clusters/$STRATUS_CLUSTER/stratusfs
key=$kd/munge.key
install -d -m 0755 "$kd"
if install_key "$key"; then
	log "munge key from the node configuration"
elif [ "$role" = mds ]; then
	if [ ! -s "$key" ]; then
		umask 077
		dd if=/dev/urandom of="$key.new" bs=1 count=1024 status=none
		chown munge:munge "$key.new"; chmod 0400 "$key.new"; mv -f "$key.new" "$key"
		log "made the storage cluster's munge key $key"
	fi
else
	wait_for "$(cfg stratusfs.wait_timeout 300)" "the mds node to make the munge key '$key'" test -s "$key"
fi
start_munged "$key" "$ND/munge"
