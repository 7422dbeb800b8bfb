# tests/e2e/sfs-lib.sh: helpers for the StratusFS end-to-end tests (sourced
# after tests/lib.sh).  Everything lives under $T: a munged with its own key,
# an MDS, OSSs and FUSE mounts, each started with t_start (PID recorded) and
# stopped by the lib.sh trap.

t_need_root
t_need_cmd munged fusermount3 python3

# sfs_munged NAME: start a munged with a fresh key; sets MSOCK_NAME path in $T/NAME.sock
sfs_munged() {
	local n=$1
	dd if=/dev/urandom of="$T/$n.key" bs=1 count=1024 2>/dev/null && chmod 0400 "$T/$n.key"
	munged --force --socket="$T/$n.sock" --key-file="$T/$n.key" --pid-file="$T/$n.pid" \
		--log-file="$T/$n.log" --seed-file="$T/$n.seed" || bail "cannot start munged"
	t_wait 10 "munged pid" test -s "$T/$n.pid" || bail "munged did not start"
	t_register_pid "$(cat "$T/$n.pid")"
}

# sfs_mds [extra args]: start the MDS on a free port; sets MDS_PORT, MDS
sfs_mds() {
	rm -f "$T/mds.port"
	t_start mds sfs-mds --dir "$T/mds" --port 0 --port-file "$T/mds.port" --munge-socket "$T/munge.sock" "$@"
	MDS_PID=$T_PID
	t_wait 10 "mds port" test -s "$T/mds.port" || bail "sfs-mds did not start"
	MDS_PORT=$(cat "$T/mds.port")
	MDS=127.0.0.1:$MDS_PORT
}

# sfs_oss I [extra args]: start OSS number I with OST $T/ostI; sets OSS_PID_I
sfs_oss() {
	local i=$1; shift
	t_start "oss$i" sfs-oss --dir "$T/ost$i" --mds "$MDS" --munge-socket "$T/munge.sock" --port-file "$T/oss$i.port" "$@"
	eval "OSS_PID_$i=$T_PID"
	t_wait 10 "oss $i port" test -s "$T/oss$i.port" || bail "sfs-oss $i did not start"
}

# sfs_mount NAME [extra -o options]: mount at $T/NAME in the foreground (PID tracked)
sfs_mount() {
	local n=$1 extra=${2:-}
	mkdir -p "$T/$n"
	t_start "mount-$n" sfs-mount -f "127.0.0.1:$MDS_PORT:/sfs" "$T/$n" -o "munge_socket=$T/munge.sock${extra:+,$extra}"
	t_track_mount "$T/$n"
	t_wait 15 "mount $n" mountpoint -q "$T/$n" || bail "mount $n did not come up"
}

# sfs_osts_up N: wait until N OSTs are up (seen through the mount $1)
sfs_wait_osts() {
	local mnt=$1 n=$2
	t_wait 20 "$n OSTs up" sh -c "[ \$(sfs osts '$mnt' | grep -c ' up\$') -ge $n ]"
}

# sfs_obj_path MNT FILE STRIPE: the path of a stripe's object file on its OST's disk
sfs_obj_path() {
	local mnt=$1 f=$2 k=$3 ost obj uuid d
	read -r ost obj < <(sfs getstripe "$f" | awk '/^\t/ && $1 ~ /^[0-9]+$/ {print $1, $2}' | sed -n "$((k + 1))p")
	uuid=$(sfs osts "$mnt" | awk -v i="$ost:" '$1 == i {print $2}')
	for d in "$T"/ost*; do
		[ "$(cat "$d/ost_uuid" 2>/dev/null)" = "$uuid" ] || continue
		printf '%s/O/%02x/%016x\n' "$d" $((obj & 255)) "$obj"
		return 0
	done
	return 1
}

# sfs_stat MNT KEY: one counter of the mount's user.sfs.stats (lookups, leases...).
sfs_stat() { python3 -c 'import os, sys; sys.stdout.write(os.getxattr(sys.argv[1], "user.sfs.stats").decode())' "$1" | awk -v k="$2" '$1 == k {print $2}'; }
