#!/bin/bash
# The cluster user (slurm.cluster_user, default hpcuser; CycleCloud's cluster
# user): the account jobs run as, not root.  The same uid and gid on every
# node (slurm.cluster_uid), home /shared/home/USER seen by every node, and an
# ssh key pair there whose public half is in its authorized_keys, so that
# `mpiexec --hostfile` reaches every node of the cluster as that user.  The
# manager's cluster key logs in as it too (`stratus ssh --user USER`).  After
# 30-ssh.sh, which gives root the cluster's key.
#
# Local nodes share the host's /etc/passwd: the first node to run this adds
# the account for all of them (under a lock); later ones find it.  An account
# of that name with another uid, or that uid held by another name, is an
# error: pick another ClusterUser/ClusterUserUid.
set -eu
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/slurm-lib.sh"

user=$(cfg slurm.cluster_user hpcuser)
uid=$(cfg slurm.cluster_uid 20001)
case $user in
'' | *[!a-z0-9_-]* | [0-9-]*) die "slurm.cluster_user '$user' is not a user name (lowercase letters, digits, _ and -, not first a digit or -)" ;;
esac
case $uid in
'' | *[!0-9]*) die "slurm.cluster_uid '$uid' is not a number" ;;
esac
[ "$uid" -ge 1000 ] && [ "$uid" -lt 60000 ] || die "slurm.cluster_uid $uid is outside 1000..59999 (regular users)"
home=/shared/home/$user

mkdir -p /run/lock
exec 9>/run/lock/stratus-cluster-user.lock
flock -w 60 9 || die "cannot take /run/lock/stratus-cluster-user.lock (another node adding users?)"
if getent passwd "$user" >/dev/null; then
	have=$(id -u "$user")
	[ "$have" = "$uid" ] || die "user '$user' exists here with uid $have, not $uid; choose another ClusterUser or ClusterUserUid"
	log "user '$user' (uid $uid) exists"
else
	if other=$(getent passwd "$uid"); then
		die "uid $uid is already user '${other%%:*}'; choose another ClusterUserUid"
	fi
	if ! getent group "$user" >/dev/null; then
		getent group "$uid" >/dev/null && die "gid $uid is already group '$(getent group "$uid" | cut -d: -f1)'; choose another ClusterUserUid"
		groupadd -g "$uid" "$user"
	fi
	# Password '*': no password login, but not a locked account (sshd without
	# PAM refuses keys of locked accounts).
	useradd -u "$uid" -g "$user" -d "$home" -M -s /bin/bash -p '*' -c "Stratus cluster user" "$user"
	log "added user '$user' (uid $uid, gid $(id -g "$user"), home $home)"
fi
flock -u 9
gid=$(id -g "$user")

# Its home on /shared (a host folder bound by 10-shared.sh, or the scheduler's
# StratusFS mounted by 25-shared.sh), and its ssh key: made once per cluster
# by the scheduler; the other nodes wait for it.
src=$home
if [ "$(cfg slurm.role execute)" = scheduler ]; then
	install -d -m 0755 -o "$uid" -g "$gid" "$src"
	install -d -m 0700 -o "$uid" -g "$gid" "$src/.ssh"
	if [ ! -s "$src/.ssh/id_ed25519" ]; then
		rm -f "$src/.ssh/id_ed25519.new" "$src/.ssh/id_ed25519.new.pub"
		ssh-keygen -q -t ed25519 -N "" -C "$user@$CLUSTER" -f "$src/.ssh/id_ed25519.new"
		mv -f "$src/.ssh/id_ed25519.new.pub" "$src/.ssh/id_ed25519.pub"
		mv -f "$src/.ssh/id_ed25519.new" "$src/.ssh/id_ed25519"
		log "made $user's ssh key $home/.ssh/id_ed25519"
	fi
	{
		cat "$src/.ssh/id_ed25519.pub"
		# The manager's cluster key (`stratus ssh --user`): on a local node
		# root's own /root/.ssh holds it (the provider's, or 30-ssh.sh's); on
		# a pool host, the block the ssh provider put in root's
		# authorized_keys (root's own key pair there is the machine's, not
		# ours).  sshd reads a user's keys as that user, so the manager's
		# root-only copy is no use.
		[ -z "${STRATUS_HOST_TAG:-}" ] && [ -s /root/.ssh/id_ed25519.pub ] && cat /root/.ssh/id_ed25519.pub
		[ -f /root/.ssh/authorized_keys ] &&
			awk 'index($0, "# BEGIN stratus-node") == 1 { s = 1; next } index($0, "# END stratus-node") == 1 { s = 0; next } s' /root/.ssh/authorized_keys
		# The operator's keys, if the manager hands them out.
		ak=$(cfg ssh.authorized_keys "")
		[ -z "$ak" ] || printf '%s\n' "$ak"
	} | awk 'NF && !seen[$0]++' >"$src/.ssh/authorized_keys.new"
	mv -f "$src/.ssh/authorized_keys.new" "$src/.ssh/authorized_keys"
	# Nodes come and go with the same names: host keys change, so do not pin them.
	cat >"$src/.ssh/config.new" <<CFG
Host *
	StrictHostKeyChecking no
	UserKnownHostsFile /dev/null
	LogLevel ERROR
	BatchMode yes
CFG
	mv -f "$src/.ssh/config.new" "$src/.ssh/config"
	chown "$uid:$gid" "$src/.ssh/id_ed25519" "$src/.ssh/id_ed25519.pub" "$src/.ssh/authorized_keys" "$src/.ssh/config"
	chmod 0600 "$src/.ssh/id_ed25519" "$src/.ssh/authorized_keys" "$src/.ssh/config"
	# Who the cluster user is, for the tools that submit as it (stratus bench, make demo).
	echo "$user $uid" >/shared/cluster-user.new
	mv -f /shared/cluster-user.new /shared/cluster-user
else
	wait_for "$(cfg slurm.wait_timeout 300)" "the scheduler to make $user's ssh key ($src/.ssh/config)" test -s "$src/.ssh/config"
fi
[ "$(stat -c %u "$home")" = "$uid" ] || die "$home is not owned by uid $uid; is /shared there (10-shared.sh, 25-shared.sh)?"
[ -s "$home/.ssh/authorized_keys" ] || die "$home/.ssh/authorized_keys is empty"
log "cluster user $user (uid $uid): home $home, ssh key $home/.ssh/id_ed25519"
