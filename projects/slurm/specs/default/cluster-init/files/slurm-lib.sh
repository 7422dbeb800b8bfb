# slurm-lib.sh: helpers shared by the slurm project's cluster-init scripts.
#
# The default spec installs this file into the node's own directory
# ($STRATUS_DATA/nodes/NODE/lib/slurm-lib.sh) so that the scheduler and
# execute specs, downloaded as separate folders, can source it too.
#
# Where things live (so that many nodes and many clusters can share one host,
# as local nodes do: only /tmp is private to a local node, /etc /run /var are
# the host's):
#   $STRATUS_DATA/nodes/NODE/      per-node state: munged and its key, slurmd
#                                   spool, logs; on the scheduler, the /shared
#                                   file system's MDT and OST (shared/)
#   $STRATUS_DATA/clusters/CLUSTER/  the cluster-wide /shared when the nodes
#                                   share this host (slurm.shared = host)
# and each node sees its own cluster's files at the usual paths through mounts
# made in its own mount namespace: /shared, /etc/slurm (= /shared/slurm),
# /run/munge (its own munged's socket), /root/.ssh (the cluster's ssh key).
# The cluster's MUNGE key comes from the manager (configuration munge.key),
# never through a folder: nodes may be on different machines.

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

# The StratusFS programs beside the agent (a build tree, or what the ssh
# provider copied to a pool host), else on PATH.
SFS_BIN=$(dirname "$(command -v stratus-node)")
[ -x "$SFS_BIN/sfs-mds" ] || SFS_BIN=$(dirname "$(command -v sfs-mds || echo /usr/local/bin/sfs-mds)")

# shared_mode: how /shared reaches the cluster's nodes (slurm.shared):
#   host       a folder of this host ($CD/shared) bound at /shared: every node
#              must see the same folder (local nodes, all on this host)
#   scheduler  a one-node StratusFS served by the scheduler node (sfs-mds and
#              sfs-oss on its local disk, the cluster's own MUNGE key), mounted
#              at /shared on every node: nodes on different machines
#   auto       (the default) scheduler on a pool host (STRATUS_HOST_TAG), else host
shared_mode() {
	local m
	m=$(cfg slurm.shared auto)
	case $m in
	host|scheduler) echo "$m" ;;
	auto) if [ -n "${STRATUS_HOST_TAG:-}" ]; then echo scheduler; else echo host; fi ;;
	*) die "slurm.shared is '$m'; use auto, host or scheduler" ;;
	esac
}

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
