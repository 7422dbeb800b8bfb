# slurm-lib.sh: helpers shared by the slurm project's cluster-init scripts.
#
# The default spec installs this file into the node's own directory
# ($STRATUS_DATA/nodes/NODE/lib/slurm-lib.sh) so that the scheduler and
# execute specs, downloaded as separate folders, can source it too.
#
# Where things live (so that many nodes and many clusters can share one host,
# as local nodes do: only /tmp is private to a local node, /etc /run /var are
# the host's):
#   $STRATUS_DATA/nodes/NODE/      per-node state: munged, slurmd spool, logs
#   $STRATUS_DATA/clusters/CLUSTER/  per-cluster state: MUNGE key, ssh key,
#                                   the cluster-wide /shared
# and each node sees its own cluster's files at the usual paths through bind
# mounts made in its own mount namespace: /shared, /etc/slurm (= /shared/slurm),
# /run/munge (its own munged's socket), /root/.ssh (the cluster's ssh key).

: "${STRATUS_NODE_NAME:?STRATUS_NODE_NAME is not set: run this through stratus-node}"
: "${STRATUS_CLUSTER:?STRATUS_CLUSTER is not set: run this through stratus-node}"

# cfg KEY [DEFAULT]: one configuration value of this node (the seed's
# `jetpack config`).
cfg() { stratus-node config "$@"; }

log() { echo "slurm: $*"; }
die() { echo "slurm: error: $*" >&2; exit 1; }

STRATUS_DATA=$(cfg stratus.data_dir /var/lib/stratus-nodes)
NODE=$STRATUS_NODE_NAME
CLUSTER=$STRATUS_CLUSTER
ND=$STRATUS_DATA/nodes/$NODE
CD=$STRATUS_DATA/clusters/$CLUSTER
SHARED_SRC=$CD/shared

# cluster_nodes [TEMPLATE]: "NAME IP STATE TEMPLATE" lines of this cluster's
# nodes (all of them, or those made from TEMPLATE), sorted by name with
# numeric suffixes in order.  `stratus-node search` prints
# "name<TAB>template<TAB>hostname<TAB>ip<TAB>state".
cluster_nodes() {
	local out
	out=$(stratus-node search) || die "cannot list the cluster's nodes (stratus-node search); is the manager reachable?"
	printf '%s\n' "$out" | awk -F '\t' -v t="${1:-}" 'NF >= 5 && (t == "" || $2 == t) { print $1, $4, $5, $2 }' | sort -V
}

# bind_dir SRC DST: show SRC at DST in this node's mount namespace (once).
bind_dir() {
	mkdir -p "$1" "$2"
	if mountpoint -q "$2"; then
		# Already bound (a re-run): make sure it is ours.
		[ "$(stat -c %d:%i "$1")" = "$(stat -c %d:%i "$2")" ] ||
			die "'$2' is already a mount point of something else than '$1'; unmount it or fix the node"
		return 0
	fi
	mount --bind "$1" "$2" || die "cannot bind '$1' on '$2'; is this node's mount namespace private?"
	log "bound $1 on $2"
}

# wait_for SECONDS DESC CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local secs=$1 desc=$2 i
	shift 2
	for i in $(seq 1 $((secs * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "timed out after ${secs}s waiting for $desc"
}

# pid_alive PIDFILE: the process named in PIDFILE runs and is not a zombie.
pid_alive() {
	local pid
	[ -s "$1" ] || return 1
	pid=$(cat "$1")
	kill -0 "$pid" 2>/dev/null || return 1
	[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != Z ]
}
