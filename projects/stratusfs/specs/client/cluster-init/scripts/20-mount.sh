#!/bin/bash
# Mount the storage cluster named by stratusfs.cluster at stratusfs.mountpoint
# (default /lustre), in this node's own mount namespace, with a munged of the
# storage cluster's key beside the node's own (Slurm's) one.
set -eu
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/sfs-lib.sh"

storage=$(cfg stratusfs.cluster "")
mnt=$(cfg stratusfs.mountpoint /lustre)
if [ -z "$storage" ] || [ "$storage" = none ]; then
	log "no storage cluster (stratusfs.cluster is '${storage}'): nothing mounted"
	exit 0
fi
cd_=$ND/client
install -d -m 0755 "$cd_"
key=$cd_/munge.key
# The manager hands this node the storage cluster's key (stratusfs.munge_key)
# because this node's cluster names it (stratusfs.cluster).
install_key "$key" stratusfs.munge_key ||
	die "the node configuration has no stratusfs.munge_key: does storage cluster '$storage' exist? (the manager hands its key to clusters that name it)"
start_munged "$key" "$cd_/munge"
addr=$(cfg stratusfs.mds_address "")
if [ -z "$addr" ]; then
	pub=$(mds_address "$storage")
	read -r addr fsname <<<"$pub" || true
	[ -n "$addr" ] && [ -n "$fsname" ] || die "storage cluster '$storage' published a bad MDS address '$pub'"
	log "storage cluster '$storage' has its MDS at $addr (file system '$fsname')"
else
	fsname=$(cfg stratusfs.fsname stratusfs)
fi
mkdir -p "$mnt"
if mountpoint -q "$mnt"; then
	log "$mnt is mounted already: $(grep " $mnt " /proc/mounts | head -n 1)"
	exit 0
fi
"$SFS_BIN/sfs-mount" --munge-socket "$cd_/munge/munge.socket" --pid-file "$cd_/mount.pid" \
	--log-file "$cd_/mount.log" -o allow_other "$addr:/$fsname" "$mnt"
wait_for 30 "$mnt to be mounted (see $cd_/mount.log)" mountpoint -q "$mnt"
log "mounted $addr:/$fsname on $mnt: $(grep " $mnt " /proc/mounts | head -n 1)"
