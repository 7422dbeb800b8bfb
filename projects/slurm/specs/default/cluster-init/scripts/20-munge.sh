#!/bin/bash
# MUNGE: the cluster's own key (made by the manager when the cluster was
# created, handed to every node of the cluster in its configuration as
# munge.key: no folder shared between machines) and this node's own munged,
# its socket at the usual /run/munge/munge.socket.2 (a per-node folder bound
# there) so that Slurm and the munge tools find it without options.
set -eu
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/slurm-lib.sh"

keydir=$ND/munge-key
key=$keydir/munge.key
install -d -m 0700 -o munge -g munge "$keydir"
given=$(cfg munge.key "")
[ -n "$given" ] ||
	die "the node configuration has no munge.key; the manager hands each cluster's key to its nodes: is stratusd older than this project?"
# base64, the same on every node of the cluster.
(
	umask 077
	printf '%s' "$given" | base64 -d >"$key.new"
)
chown munge:munge "$key.new"; chmod 0400 "$key.new"; mv -f "$key.new" "$key"
log "cluster munge key from the node configuration ($key)"

run=$ND/munge-run
install -d -m 0755 -o munge -g munge "$run" "$ND/munge"
mkdir -p /run/munge
bind_dir "$run" /run/munge
if pid_alive "$ND/munge/munged.pid" && munge -n >/dev/null 2>&1; then
	log "munged already runs (pid $(cat "$ND/munge/munged.pid"))"
	exit 0
fi
rm -f "$run/munge.socket.2" "$run/munge.socket.2.lock"
runuser -u munge -- /usr/sbin/munged --key-file="$key" --socket=/run/munge/munge.socket.2 \
	--pid-file="$ND/munge/munged.pid" --log-file="$ND/munge/munged.log" \
	--seed-file="$ND/munge/munged.seed" </dev/null
wait_for 10 "munged to answer on /run/munge/munge.socket.2" sh -c 'munge -n | unmunge'
log "munged runs (pid $(cat "$ND/munge/munged.pid")), key $key"
