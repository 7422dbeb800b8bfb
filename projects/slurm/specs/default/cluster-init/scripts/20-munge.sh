#!/bin/bash
# MUNGE: the cluster's own key and this node's own munged, its socket at the
# usual /run/munge/munge.socket.2 (a per-node folder bound there) so that
# Slurm and the munge tools find it without options.
set -eu
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/slurm-lib.sh"

keydir=$CD/munge
key=$keydir/munge.key
install -d -m 0700 -o munge -g munge "$keydir"
given=$(cfg munge.key "")
if [ -n "$given" ]; then
	# Handed out by the manager (base64): the same on every node.
	umask 077
	printf '%s' "$given" | base64 -d >"$key.new"
	chown munge:munge "$key.new"; chmod 0400 "$key.new"; mv -f "$key.new" "$key"
	log "munge key from the node configuration"
elif [ "$(cfg slurm.role execute)" = scheduler ]; then
	if [ ! -s "$key" ]; then
		umask 077
		dd if=/dev/urandom of="$key.new" bs=1 count=1024 status=none
		chown munge:munge "$key.new"; chmod 0400 "$key.new"; mv -f "$key.new" "$key"
		log "made the cluster's munge key $key"
	else
		log "cluster munge key $key exists"
	fi
else
	wait_for "$(cfg slurm.wait_timeout 300)" "the scheduler to make the munge key '$key'" test -s "$key"
fi

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
