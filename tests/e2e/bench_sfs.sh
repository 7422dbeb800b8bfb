# tests/e2e/bench_sfs.sh: bring up a StratusFS of this test's own for the
# ior_sfs.t and mdtest_sfs.t tests, with the file system engineer's
# `sfs local up DIR --oss N --mount MNT` (and `sfs local down DIR` at cleanup).
# Skips the whole file when sfs is not built here.  Sourced after lib.sh.

sfs_need_local() {
	[ -x "$BIN/sfs" ] || skip_all "build/bin/sfs is not built (StratusFS is on branch 'fs'); these tests run once it is merged"
	"$BIN/sfs" local up --help >/dev/null 2>&1 ||
		skip_all "this sfs has no 'sfs local up' yet"
	t_need_root
	[ -e /dev/fuse ] || skip_all "/dev/fuse is missing"
}

# sfs_up OSS_COUNT: StratusFS in $T/sfs mounted at $T/mnt; sets SFS_MNT.
sfs_up() {
	SFS_MNT=$T/mnt
	mkdir -p "$T/sfs" "$SFS_MNT"
	t_on_cleanup "'$BIN/sfs' local down '$T/sfs'"
	t_track_mount "$SFS_MNT"
	timeout 60 "$BIN/sfs" local up "$T/sfs" --oss "$1" --mount "$SFS_MNT" >"$T/sfs-up.log" 2>&1 ||
		bail "sfs local up failed: $(tail -n 3 "$T/sfs-up.log")"
	t_wait 30 "StratusFS mounted at $SFS_MNT" mountpoint -q "$SFS_MNT" || bail "StratusFS did not mount at $SFS_MNT"
}
