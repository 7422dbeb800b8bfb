#!/bin/bash
# /shared served by the scheduler node, for nodes that share no folder (on
# different machines: slurm.shared = scheduler, the default on a host pool).
# NFS, which CycleCloud uses to export /shared from the scheduler, is not
# always in the kernel; StratusFS is ours and needs only FUSE: the scheduler
# runs a one-node StratusFS (sfs-mds and sfs-oss on its local disk,
# authenticated with the cluster's own MUNGE key, so only the cluster's nodes
# reach it) and publishes its address through the manager (slurm.shared);
# every node of the cluster mounts it at /shared, and /shared/slurm at
# /etc/slurm.
set -eu
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/slurm-lib.sh"

if [ "$(shared_mode)" != scheduler ]; then
	log "/shared is a folder of this host (slurm.shared $(cfg slurm.shared auto)): bound by 10-shared.sh"
	exit 0
fi
sock=$ND/munge-run/munge.socket.2
port=$(cfg slurm.shared_port 9810)
sd=$ND/shared
install -d -m 0755 "$sd"
if [ "$(cfg slurm.role execute)" = scheduler ]; then
	ip=$(cfg ip)
	install -d -m 0700 "$sd/mdt" "$sd/ost"
	if pid_alive "$sd/mds.pid"; then
		log "sfs-mds of /shared already runs (pid $(cat "$sd/mds.pid"))"
	else
		rm -f "$sd/mds.port"
		setsid "$SFS_BIN/sfs-mds" --dir "$sd/mdt" --listen "$ip" --port "$port" --port-file "$sd/mds.port" \
			--fsname shared --munge-socket "$sock" --log-file "$sd/mds.log" </dev/null >>"$sd/mds.out" 2>&1 &
		echo $! >"$sd/mds.pid"
		wait_for 30 "the /shared sfs-mds to listen (see $sd/mds.log, $sd/mds.out)" test -s "$sd/mds.port"
		log "sfs-mds of /shared runs (pid $(cat "$sd/mds.pid")) on $ip:$port, MDT $sd/mdt"
	fi
	if pid_alive "$sd/oss.pid"; then
		log "sfs-oss of /shared already runs (pid $(cat "$sd/oss.pid"))"
	else
		rm -f "$sd/oss.port"
		setsid "$SFS_BIN/sfs-oss" --dir "$sd/ost" --mds "$ip:$port" --listen "$ip" --port-file "$sd/oss.port" \
			--munge-socket "$sock" --log-file "$sd/oss.log" </dev/null >>"$sd/oss.out" 2>&1 &
		echo $! >"$sd/oss.pid"
		wait_for 30 "the /shared sfs-oss to listen (see $sd/oss.log, $sd/oss.out)" test -s "$sd/oss.port"
		log "sfs-oss of /shared runs (pid $(cat "$sd/oss.pid")) on $ip:$(cat "$sd/oss.port"), OST $sd/ost"
	fi
	addr=$ip:$port
	stratus-node publish slurm.shared "$addr shared" ||
		die "cannot publish the /shared server's address through the manager (stratus-node publish slurm.shared)"
	log "published slurm.shared = $addr shared"
else
	pub=$(stratus-node lookup --wait "$(cfg slurm.wait_timeout 300)" slurm.shared) ||
		die "the scheduler has not published its /shared server (slurm.shared); is the scheduler node Ready?"
	read -r addr _ <<<"$pub" || true
	[ -n "$addr" ] || die "the scheduler published a bad /shared address '$pub'"
	log "the scheduler serves /shared at $addr"
fi

mkdir -p /shared
if mountpoint -q /shared; then
	log "/shared is mounted already: $(grep ' /shared ' /proc/mounts | head -n 1)"
else
	"$SFS_BIN/sfs-mount" --munge-socket "$sock" --pid-file "$sd/mount.pid" --log-file "$sd/mount.log" \
		-o allow_other "$addr:/shared" /shared
	wait_for 30 "/shared to be mounted (see $sd/mount.log)" mountpoint -q /shared
	log "mounted $addr:/shared on /shared"
fi
install -d -m 0755 /shared/bin /shared/home /shared/slurm
bind_dir /shared/slurm /etc/slurm
log "/shared is the scheduler's ($addr); /etc/slurm is /shared/slurm"
