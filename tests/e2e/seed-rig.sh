# tests/e2e/seed-rig.sh: namespaced nodes without the manager, for the tests
# of the cluster-init projects (projects/slurm, projects/stratusfs).
#
# Sourced after tests/lib.sh.  It makes what the local provider and the agent
# make, in the smallest form: a bridge, one node per network namespace with a
# long-lived holder process (its own UTS and mount namespaces, a private /tmp,
# its own /etc/hosts), sshd in the node, and a `stratus-node` that answers
# `config KEY [DEFAULT]` and `search` from files, and runs a spec's scripts in
# lexical order in the node with the agent's environment.  The daemons and the
# scripts are the real ones; only the manager is left out.  As the manager
# does, the rig makes each cluster's MUNGE key and hands it to the cluster's
# nodes (munge.key, and PREFIX.munge_key for a PREFIX.cluster naming another
# cluster), and keeps the values nodes publish ($R/values/CLUSTER/KEY).
#
#   rig_init CLUSTER
#   rig_cluster CLUSTER                         nodes recorded next belong to CLUSTER
#   rig_node NAME IP TEMPLATE [KEY=VALUE...]    record a node (not made yet)
#   rig_up NAME                                 make it and start its sshd
#   rig_spec NAME PROJECT SPEC                  run the spec's cluster-init in it
#   rig_exec NAME CMD...                        run CMD in the node
#   rig_down NAME                               stop everything in it, remove it
#
# Everything lives under $R (outside /tmp, which each node hides behind its
# own) and is removed at exit.

R=/var/tmp/stratus-rig.$$
RIG_BR=srb$$
# A /24 of its own per run: 10.(100..199).(0..255).0
RIG_NET=10.$((100 + ($$ >> 8) % 100)).$(($$ & 255))

rig_cluster() { RIG_CLUSTER=$1; rig_key "$1"; }
# rig_key CLUSTER: the cluster's MUNGE key, made once, as stratusd makes it.
rig_key() { [ -s "$R/keys/$1" ] || { mkdir -p -m 0700 "$R/keys" && head -c 1024 /dev/urandom >"$R/keys/$1"; }; }

rig_init() {
	RIG_CLUSTER=$1
	mkdir -p "$R/bin" "$R/nodes" "$R/data" "$R/values"
	rig_key "$1"
	: >"$R/cluster-nodes"
	: >"$R/requests"
	: >"$R/hosts"
	t_on_cleanup "[ \$_t_failed -ne 0 ] || [ \${T_KEEP:-0} = 1 ] || rm -rf '$R'"
	ip link add "$RIG_BR" type bridge || bail "cannot make bridge '$RIG_BR'"
	t_track_link "$RIG_BR"
	ip link set "$RIG_BR" address "02:5e:$(printf '%02x:%02x:%02x' $((($$ >> 16) & 255)) $((($$ >> 8) & 255)) $(($$ & 255))):01"
	ip link set "$RIG_BR" up
	mkdir -p /run/sshd
	cat >"$R/bin/stratus-node" <<'EOF'
#!/bin/bash
# The rig's stand-in for the agent's query commands (tests/e2e/seed-rig.sh).
set -u
case "${1:-}" in
config)
	key=${2:?usage: stratus-node config KEY [DEFAULT]}
	v=$(awk -v k="$key" 'index($0, k " = ") == 1 { print substr($0, length(k) + 4); f = 1 } END { exit !f }' "$STRATUS_NODE_CONFIG") && { printf '%s\n' "$v"; exit 0; }
	[ $# -ge 3 ] && { printf '%s\n' "$3"; exit 0; }
	echo "stratus-node: no configuration value '$key'" >&2; exit 1 ;;
search)
	# As the agent prints it: name, template, hostname, ip, state, tab-separated;
	# the nodes of this node's cluster only.
	awk -v OFS='\t' -v c="$STRATUS_CLUSTER" '$5 == c { print $1, $4, $1, $2, $3 }' "$(dirname "$STRATUS_NODE_CONFIG")/../../cluster-nodes" ;;
publish)
	# As the manager keeps it: a value per cluster and key.
	key=${2:?usage: stratus-node publish KEY [VALUE|-]}
	d="$(dirname "$STRATUS_NODE_CONFIG")/../../values/$STRATUS_CLUSTER"
	mkdir -p "$d"
	if [ $# -ge 3 ] && [ "$3" != - ]; then printf '%s' "$3" >"$d/$key.new"; else cat >"$d/$key.new"; fi
	mv -f "$d/$key.new" "$d/$key" ;;
lookup)
	shift
	c=$STRATUS_CLUSTER w=0
	while [ $# -gt 1 ]; do
		case $1 in --cluster) c=$2; shift 2 ;; --wait) w=$2; shift 2 ;; *) break ;; esac
	done
	f="$(dirname "$STRATUS_NODE_CONFIG")/../../values/$c/${1:?usage: stratus-node lookup [--cluster C] [--wait SECS] KEY}"
	for i in $(seq 0 $((w * 10))); do
		[ -e "$f" ] && { cat "$f"; echo; exit 0; }
		[ "$i" -lt $((w * 10)) ] && sleep 0.1
	done
	echo "stratus-node: cluster '$c' has no value '$1' (yet)" >&2; exit 1 ;;
resume|suspend)
	# Asks the rig's provider loop (rig_provider_loop) as it would ask the manager.
	act=$1; shift
	[ "${1:-}" = --reason ] && shift 2
	r=$(dirname "$STRATUS_NODE_CONFIG")/../..
	for n in "$@"; do
		# As the manager does: a node still being given back is not taken
		# on (the asker asks again once it is Off); one on its way or up is
		# taken with nothing to do; an Off one is made (Acquiring at once).
		if [ "$act" = resume ]; then
			case $(awk -v n="$n" '$1 == n { print $3 }' "$r/cluster-nodes") in
			Terminating) echo "refused $n" >>"$r/requests"; continue ;;
			Acquiring|Preparing|Ready) echo "again $n" >>"$r/requests"; echo "$n"; continue ;;
			esac
			flock "$r/lock" sed -i "s/^$n \([^ ]*\) [^ ]* /$n \1 Acquiring /" "$r/cluster-nodes"
		fi
		echo "$act $n" >>"$r/requests"
		# As the manager answers: the nodes taken on, one a line.
		echo "$n"
	done ;;
*)
	echo "stratus-node: the rig knows only 'config', 'search', 'resume', 'suspend', 'publish' and 'lookup'" >&2; exit 2 ;;
esac
EOF
	chmod +x "$R/bin/stratus-node"
}

# rig_node NAME IP TEMPLATE [KEY=VALUE...]
rig_node() {
	local name=$1 ip=$2 tmpl=$3 kv n
	shift 3
	mkdir -p "$R/nodes/$name"
	{
		echo "stratus.data_dir = $R/data"
		echo "ip = $ip"
		for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
		echo "munge.key = $(base64 -w0 "$R/keys/$RIG_CLUSTER")"
		for kv in "$@"; do
			case ${kv%%=*} in
			*.cluster) [ -s "$R/keys/${kv#*=}" ] && echo "${kv%%=*}" | sed 's/\.cluster$/.munge_key/' | tr '\n' ' ' &&
				echo "= $(base64 -w0 "$R/keys/${kv#*=}")" ;;
			esac
		done
	} >"$R/nodes/$name/config"
	echo "$name $ip Off $tmpl $RIG_CLUSTER" >>"$R/cluster-nodes"
	echo "$RIG_CLUSTER" >"$R/nodes/$name/cluster"
	echo "$ip $name" >>"$R/hosts"
	n=$(wc -l <"$R/cluster-nodes")
	echo "sn$$-$n" >"$R/nodes/$name/netns"
	echo "sv$$-$n" >"$R/nodes/$name/veth"
	# Cleaned up whether made here or in a background provider loop: stop
	# whatever runs in the node first (its daemons fork away from us).
	t_on_cleanup "ip netns pids sn$$-$n | xargs -r kill -9; ip netns del sn$$-$n; ip link del sv$$-$n"
	printf '127.0.0.1 localhost\n::1 localhost\n' >"$R/nodes/$name/hosts.head"
}

rig_set_state() { flock "$R/lock" sed -i "s/^$1 \([^ ]*\) [^ ]* /$1 \1 $2 /" "$R/cluster-nodes"; }
rig_pid() { cat "$R/nodes/$1/holder.pid"; }
rig_ip() { awk -v n="$1" '$1 == n { print $2 }' "$R/cluster-nodes"; }

rig_up() {
	local name=$1 ip ns veth pid
	ip=$(rig_ip "$name")
	ns=$(cat "$R/nodes/$name/netns")
	veth=$(cat "$R/nodes/$name/veth")
	cat "$R/nodes/$name/hosts.head" "$R/hosts" >"$R/nodes/$name/hosts"
	ip netns add "$ns" || return 1
	ip link add "$veth" type veth peer name eth0 netns "$ns" || return 1
	ip link set "$veth" master "$RIG_BR" up
	ip -n "$ns" addr add "$ip/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
	t_start "holder-$name" nsenter --net="/run/netns/$ns" -- unshare --mount --uts --propagation slave -- \
		sh -c "hostname $name && mount -t tmpfs -o size=256m tmpfs /tmp && mount --bind $R/nodes/$name/hosts /etc/hosts && exec sleep 100000"
	pid=$T_PID
	echo "$pid" >"$R/nodes/$name/holder.pid"
	t_wait 10 "node $name's holder" sh -c "[ \"\$(nsenter -t $pid -u hostname)\" = $name ] && nsenter -t $pid -m grep -q $name /etc/hosts" || return 1
	# sshd, as the local provider starts it.
	[ -f "$R/nodes/$name/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N "" -f "$R/nodes/$name/ssh_host_ed25519_key"
	cat >"$R/nodes/$name/sshd_config" <<EOF
ListenAddress $ip
HostKey $R/nodes/$name/ssh_host_ed25519_key
PidFile $R/nodes/$name/sshd.pid
PermitRootLogin prohibit-password
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
EOF
	t_start "sshd-$name" nsenter -t "$pid" -n -u -m -- /usr/sbin/sshd -D -e -f "$R/nodes/$name/sshd_config"
	rig_set_state "$name" Preparing
}

# rig_exec NAME CMD...: run CMD inside the node with the agent's environment.
rig_exec() {
	local name=$1
	shift
	nsenter -t "$(rig_pid "$name")" -n -u -m --wd="$R" -- env PATH="$R/bin:$BIN:/usr/sbin:/usr/bin:/sbin:/bin" \
		STRATUS_NODE_NAME="$name" STRATUS_CLUSTER="$(cat "$R/nodes/$name/cluster")" \
		STRATUS_NODE_CONFIG="$R/nodes/$name/config" HOME=/root "$@"
}

# rig_spec NAME PROJECT SPEC: run the spec's scripts in order, each with its
# own log ($T/NAME.PROJECT.SPEC.SCRIPT.log); stop at the first that fails.
rig_spec() {
	local name=$1 dir=$TOP/projects/$2/specs/$3/cluster-init s b
	for s in "$dir"/scripts/*; do
		[ -x "$s" ] || continue
		b=$(basename "$s")
		rig_exec "$name" env STRATUS_SPEC_DIR="$dir" "$s" >"$T/$name.$2.$3.$b.log" 2>&1 ||
			{ diag "cluster-init script $3/$b exited $? on $name"; tail -n 20 "$T/$name.$2.$3.$b.log" | sed 's/^/#   /'; return 1; }
	done
}

rig_down() {
	local name=$1 ns
	ns=$(cat "$R/nodes/$name/netns")
	ip netns pids "$ns" | xargs -r kill -9
	ip netns del "$ns"
	rig_set_state "$name" Off
}

# rig_provider_loop PROJECT SPEC...: in the background, act on the
# `stratus-node resume|suspend` requests of the nodes as the manager would:
# make a node and run its specs, or take it down.  Start it with t_start.
# A node named in $R/fail-once is not made the first time it is asked for;
# a node given back stays Terminating (its daemons running) for the seconds
# in $R/slow-down (default 0) before it is taken down, as the manager's stop
# scripts take a while.
rig_provider_loop() {
	local seen=0 total line act n
	while :; do
		total=$(wc -l <"$R/requests")
		while [ "$seen" -lt "$total" ]; do
			seen=$((seen + 1))
			line=$(sed -n "${seen}p" "$R/requests")
			act=${line%% *}
			n=${line#* }
			echo "$(date -u +%T.%3N) $act $n"
			case $act in
			resume) if grep -qx "$n" "$R/fail-once" 2>/dev/null; then
					# A node that fails to come up the first time it is asked for.
					sed -i "/^$n\$/d" "$R/fail-once"
					rig_set_state "$n" Off
					echo "$(date -u +%T.%3N) $n not made (fail-once)"
					continue
				fi
				(rig_up "$n" && rig_spec "$n" "$1" default && rig_spec "$n" "$1" execute &&
				rig_set_state "$n" Ready && echo "$(date -u +%T.%3N) $n Ready") & ;;
			suspend) rig_set_state "$n" Terminating
				(sleep "$(cat "$R/slow-down" 2>/dev/null || echo 0)"; rig_down "$n"; echo "$(date -u +%T.%3N) $n Off") & ;;
			esac
		done
		sleep 0.1
	done
}
