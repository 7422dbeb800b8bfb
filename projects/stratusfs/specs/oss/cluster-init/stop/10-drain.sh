#!/bin/bash
# Before this oss node is destroyed (stratus terminate_node): empty its OST
# into the others so that no file loses a byte, then stop sfs-oss and remove
# the OST from the file system.  The OST is made inactive first, so that no
# new object lands on it while it drains.  Any failure exits non-zero: the
# manager then keeps the node (Failed, with this log), its data still there.
# A whole storage cluster going away (STRATUS_STOP_SCOPE=cluster) has nowhere
# to drain to: nothing is moved then.
set -eu
# The ssh provider's stop-script runner may not set it; the node's document has it.
export STRATUS_CLUSTER=${STRATUS_CLUSTER:-$(stratus-node config cluster.name)}
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/sfs-lib.sh"

if [ "${STRATUS_STOP_SCOPE:-node}" = cluster ]; then
	log "the whole storage cluster is terminating: no OST to drain into, nothing moved"
	exit 0
fi
if ! pid_alive "$ND/oss.pid" || [ ! -s "$ND/oss.port" ]; then
	log "sfs-oss does not run on this node (cluster-init never started it): nothing to drain"
	exit 0
fi
ip=$(my_ip)
port=$(cat "$ND/oss.port")
pub=$(stratus-node lookup --wait 30 stratusfs.mds) ||
	die "cannot find the MDS address (stratus-node lookup stratusfs.mds); is the mds node of '$STRATUS_CLUSTER' up?"
read -r mds fsname <<<"$pub" || true
[ -n "$mds" ] || die "the mds node of '$STRATUS_CLUSTER' published no address (stratusfs.mds)"
export SFS_MUNGE_SOCKET=$ND/munge/munge.socket
mnt=$ND/drain.mnt
mkdir -p "$mnt"
mountpoint -q "$mnt" || "$SFS_BIN/sfs-mount" --munge-socket "$SFS_MUNGE_SOCKET" --timeout 30s \
	--pid-file "$ND/drain-mount.pid" --log-file "$ND/drain-mount.log" "$mds:/$fsname" "$mnt"
# Unmount, then wait for this script's sfs-mount to exit, so that nothing of
# ours runs on once the node is released.
unmount() {
	fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	local p
	p=$(cat "$ND/drain-mount.pid" 2>/dev/null) || return 0
	mine() { [ "$(cat "/proc/$p/comm" 2>/dev/null)" = sfs-mount ]; }
	for _ in $(seq 100); do mine || return 0; sleep 0.1; done
	kill "$p" 2>/dev/null || true
}
trap unmount EXIT
wait_for 30 "the file system to be mounted at $mnt (see $ND/drain-mount.log)" mountpoint -q "$mnt"

idx=$("$SFS_BIN/sfs" osts "$mnt" | awk -v a="$ip:$port" '$3 == a { sub(":", "", $1); print $1; exit }')
if [ -z "$idx" ]; then
	log "no OST of $ip:$port is registered with the MDS $mds: nothing to drain"
else
	"$SFS_BIN/sfs" ost deactivate "$idx" "$mnt"
	log "OST $idx ($ip:$port) is inactive: new files go to the other OSTs"
	t0=$(date +%s.%N)
	if ! "$SFS_BIN/sfs" migrate --ost "$idx" "$mnt"; then
		"$SFS_BIN/sfs" ost activate "$idx" "$mnt" || true
		die "could not move every file off OST $idx (see above; is there room on the other OSTs?); OST $idx is active again and keeps its data"
	fi
	log "OST $idx drained in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
fi
pid=$(cat "$ND/oss.pid")
kill "$pid"
wait_for 30 "sfs-oss (pid $pid) to stop" sh -c "! kill -0 $pid 2>/dev/null || [ \"\$(ps -o stat= -p $pid | cut -c1)\" = Z ]"
log "sfs-oss (pid $pid) stopped"
if [ -n "$idx" ]; then
	"$SFS_BIN/sfs" ost remove "$idx" "$mnt"
	log "OST $idx removed from the file system: $("$SFS_BIN/sfs" osts "$mnt" | grep -c '^[0-9]') OST(s) left"
fi
