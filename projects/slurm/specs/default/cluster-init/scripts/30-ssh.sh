#!/bin/bash
# The cluster's ssh key, so that root (mpiexec --hostfile) reaches every node
# of the cluster: one key pair per cluster, seen at /root/.ssh on its nodes.
set -eu
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/slurm-lib.sh"

if [ -n "${STRATUS_HOST_TAG:-}" ]; then
	# A machine of a host pool: /root/.ssh is the machine's own (the pool's
	# key may be in it), so nothing is bound over it; the ssh provider has
	# installed the cluster's key for root and removes it at release.
	log "pool host: root's ssh key for the cluster's nodes is the manager's cluster key (installed by the ssh provider)"
	exit 0
fi

# A local node may already have its own /root/.ssh holding the manager's
# cluster key (the provider's private mount): then it is the cluster's, and
# nothing is to be done.
if mountpoint -q /root/.ssh && [ -s /root/.ssh/id_ed25519 ] && [ -s /root/.ssh/config ]; then
	log "/root/.ssh is already the node's own, with the cluster's key (made by the manager)"
	exit 0
fi

dir=$CD/ssh
install -d -m 0700 "$dir"
if [ "$(cfg slurm.role execute)" = scheduler ]; then
	if [ ! -s "$dir/id_ed25519" ]; then
		ssh-keygen -q -t ed25519 -N "" -C "root@$CLUSTER" -f "$dir/id_ed25519.new"
		mv -f "$dir/id_ed25519.new.pub" "$dir/id_ed25519.pub"
		mv -f "$dir/id_ed25519.new" "$dir/id_ed25519"
		log "made the cluster's ssh key $dir/id_ed25519"
	fi
	cp "$dir/id_ed25519.pub" "$dir/authorized_keys.new"
	# The operator's keys, if the manager hands them out.
	ak=$(cfg ssh.authorized_keys "")
	[ -z "$ak" ] || printf '%s\n' "$ak" >>"$dir/authorized_keys.new"
	chmod 0600 "$dir/authorized_keys.new"
	mv -f "$dir/authorized_keys.new" "$dir/authorized_keys"
	# Nodes come and go with the same names: host keys change, so do not pin them.
	cat >"$dir/config" <<CFG
Host *
	StrictHostKeyChecking no
	UserKnownHostsFile /dev/null
	LogLevel ERROR
	BatchMode yes
CFG
	chmod 0600 "$dir/config"
else
	wait_for "$(cfg slurm.wait_timeout 300)" "the scheduler to make the ssh key in '$dir'" test -s "$dir/config"
fi
bind_dir "$dir" /root/.ssh
log "/root/.ssh is the cluster's ($dir)"
