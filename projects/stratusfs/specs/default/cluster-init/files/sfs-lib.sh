# sfs-lib.sh: helpers shared by the stratusfs project's cluster-init scripts,
# installed by each spec's first script into the node's own directory
# ($STRATUS_DATA/nodes/NODE/lib/sfs-lib.sh).  Layout, as in projects/slurm:
#   $STRATUS_DATA/nodes/NODE/stratusfs/       per-node: munged and its key, MDT,
#                                             OST, logs
# Nothing is shared through a folder, so that the nodes may be on different
# machines: the storage cluster's MUNGE key comes from the manager in the node
# configuration (munge.key on storage nodes; stratusfs.munge_key on the
# nodes of a cluster whose stratusfs.cluster names the storage cluster), and
# the mds node publishes its address through the manager (`stratus-node
# publish stratusfs.mds`, read with `stratus-node lookup --cluster STORAGE`).
# Daemons take their munged socket explicitly (--munge-socket), so a compute
# node can run its own cluster's munged beside the storage cluster's.

: "${STRATUS_NODE_NAME:?STRATUS_NODE_NAME is not set: run this through stratus-node}"
: "${STRATUS_CLUSTER:?STRATUS_CLUSTER is not set: run this through stratus-node}"

cfg() { stratus-node config "$@"; }
log() { echo "stratusfs: $*"; }
die() { echo "stratusfs: error: $*" >&2; exit 1; }

STRATUS_DATA=$(cfg stratus.data_dir /var/lib/stratus-nodes)
NODE=$STRATUS_NODE_NAME
ND=$STRATUS_DATA/nodes/$NODE/stratusfs
SFS_PORT=$(cfg stratusfs.mds_port 9800)
# The programs beside the agent (a build tree or an install), else on PATH.
SFS_BIN=$(dirname "$(command -v stratus-node)")
[ -x "$SFS_BIN/sfs-mds" ] || SFS_BIN=$(dirname "$(command -v sfs-mds || echo /usr/local/bin/sfs-mds)")

wait_for() {
	local secs=$1 desc=$2 i
	shift 2
	for i in $(seq 1 $((secs * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "timed out after ${secs}s waiting for $desc"
}

pid_alive() {
	local pid
	[ -s "$1" ] || return 1
	pid=$(cat "$1")
	kill -0 "$pid" 2>/dev/null || return 1
	[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != Z ]
}

# my_ip: this node's address, as the manager knows it.
my_ip() { cfg ip; }

# start_munged KEYFILE DIR: a munged of DIR/munge.socket with KEYFILE (once).
start_munged() {
	local key=$1 dir=$2
	install -d -m 0755 -o munge -g munge "$dir"
	if pid_alive "$dir/munged.pid" && munge -S "$dir/munge.socket" -n >/dev/null 2>&1; then
		log "munged already runs (pid $(cat "$dir/munged.pid")) on $dir/munge.socket"
		return 0
	fi
	rm -f "$dir/munge.socket" "$dir/munge.socket.lock"
	runuser -u munge -- /usr/sbin/munged --key-file="$key" --socket="$dir/munge.socket" \
		--pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munged.seed" </dev/null
	wait_for 10 "munged on $dir/munge.socket" sh -c "munge -S '$dir/munge.socket' -n | unmunge -S '$dir/munge.socket'"
	log "munged runs (pid $(cat "$dir/munged.pid")) on $dir/munge.socket, key $key"
}

# install_key DEST KEY...: the first of the configuration keys KEY... that is
# set (a MUNGE key, base64) into DEST; false if the configuration has none.
install_key() {
	local dest=$1 given="" k
	shift
	for k in "$@"; do
		given=$(cfg "$k" "")
		[ -z "$given" ] || break
	done
	[ -n "$given" ] || return 1
	set -- "$dest"
	umask 077
	printf '%s' "$given" | base64 -d >"$1.new"
	chown munge:munge "$1.new"; chmod 0400 "$1.new"; mv -f "$1.new" "$1"
}

# mds_address STORAGE: "HOST:PORT FSNAME" of the storage cluster's MDS, as its
# mds node published it (waiting up to stratusfs.wait_timeout seconds).
mds_address() {
	local out
	out=$(stratus-node lookup --cluster "$1" --wait "$(cfg stratusfs.wait_timeout 300)" stratusfs.mds) ||
		die "storage cluster '$1' has not published its MDS address (stratusfs.mds); is its mds node Ready?"
	printf '%s\n' "$out"
}

# daemon PIDFILE LOG CMD...: start CMD in its own session, its pid in PIDFILE.
daemon() {
	local pidf=$1 logf=$2
	shift 2
	setsid "$@" </dev/null >>"$logf" 2>&1 &
	echo $! >"$pidf"
}

# start_oss MDS_ADDR [GIB]: this node's sfs-oss with one OST on its
# local disk, capped at stratusfs.bandwidth_mibps MiB/s when that is > 0,
# holding at most GIB GiB (sfs-oss --capacity; 0 or none: the disk's space).
start_oss() {
	local mds=$1 gib=${2:-0} ip bw
	ip=$(my_ip)
	bw=$(cfg stratusfs.bandwidth_mibps 0)
	install -d -m 0700 "$ND/ost"
	if pid_alive "$ND/oss.pid"; then
		log "sfs-oss already runs (pid $(cat "$ND/oss.pid"))"
		return 0
	fi
	rm -f "$ND/oss.port"
	daemon "$ND/oss.pid" "$ND/oss.out" "$SFS_BIN/sfs-oss" --dir "$ND/ost" --mds "$mds" --listen "$ip" \
		--port-file "$ND/oss.port" --bandwidth "${bw}m" --munge-socket "$ND/munge/munge.socket" \
		--capacity "${gib}g" --log-file "$ND/oss.log"
	wait_for 30 "sfs-oss to listen (see $ND/oss.log, $ND/oss.out)" test -s "$ND/oss.port"
	log "sfs-oss runs (pid $(cat "$ND/oss.pid")) on $ip:$(cat "$ND/oss.port"), OST $ND/ost, MDS $mds, cap ${bw} MiB/s (0: none), OST size ${gib} GiB (0: the disk's); log $ND/oss.log"
}
