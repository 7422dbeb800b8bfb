#!/bin/bash
# The cluster user may write on the storage cluster's file system: its root
# (stratusfs.mountpoint, /lustre) becomes world-writable with the sticky bit,
# like /tmp (the seed's IOR writes /lustre/test.DATE there), and the user
# gets a folder of its own, /lustre/USER.  StratusFS checks permissions on the
# MDS with the caller's uid, as Lustre does.  Runs after the mount
# (stratusfs:client comes before this spec).
set -eu
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/slurm-lib.sh"

storage=$(cfg stratusfs.cluster "")
mnt=$(cfg stratusfs.mountpoint /lustre)
user=$(cfg slurm.cluster_user hpcuser)
if [ -z "$storage" ] || [ "$storage" = none ]; then
	log "no storage cluster: nothing to open to $user"
	exit 0
fi
mountpoint -q "$mnt" || die "$mnt is not mounted (stratusfs:client should have mounted it)"
if [ "$(stat -c %a "$mnt")" != 1777 ]; then
	chmod 1777 "$mnt"
	log "$mnt is now mode 1777 (anyone writes, only owners remove), as /tmp"
fi
if [ ! -d "$mnt/$user" ]; then
	install -d -m 0755 -o "$user" -g "$(id -g "$user")" "$mnt/$user"
	log "made $mnt/$user for $user"
fi
log "$user writes to $mnt ($(stat -c '%a %U' "$mnt")) and $mnt/$user ($(stat -c '%a %U' "$mnt/$user"))"
