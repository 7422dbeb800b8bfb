#!/bin/bash
# StratusFS end to end: munged + sfs-mds + 3 sfs-oss + two FUSE mounts of the
# real daemons.  A large random file striped over the 3 OSTs is read back
# identical from the second mount, its objects are where getstripe says, and
# the POSIX operations a FUSE file system receives behave.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sfs-lib.sh"

BIG_MB=${SFS_TEST_BIG_MB:-1024}
plan 46

sfs_munged munge
sfs_mds --stripe-count 1
for i in 0 1 2; do sfs_oss $i; done
sfs_mount a
sfs_mount b
A=$T/a B=$T/b
ok "3 OSTs registered and up" sfs_wait_osts "$A" 3

# ---- a big random file over 3 OSTs, read from the other mount ----
head -c $((BIG_MB << 20)) /dev/urandom >"$T/big.src"
ok "sfs setstripe -c 3 makes an empty file" sfs setstripe -c 3 "$A/big"
ok "write a ${BIG_MB} MiB random file" dd if="$T/big.src" of="$A/big" bs=1M conv=notrunc status=none
is "$(stat -c %s "$B/big")" "$((BIG_MB << 20))" "the second mount sees the whole size"
ok "read back identical from the second mount" cmp "$T/big.src" "$B/big"
is "$(sfs getstripe "$A/big" | awk '/lmm_stripe_count/ {print $2}')" 3 "getstripe: 3 stripes"
osts=$(sfs getstripe "$A/big" | awk '/^\t/ && $1 ~ /^[0-9]+$/ {print $1}' | sort -u | tr '\n' ' ')
is "$osts" "0 1 2 " "getstripe: one stripe on each OST"
sum=0; missing=0
for k in 0 1 2; do
	p=$(sfs_obj_path "$A" "$A/big" $k) && [ -f "$p" ] || { missing=1; continue; }
	sum=$((sum + $(stat -c %s "$p")))
done
is "$missing$sum" "0$((BIG_MB << 20))" "the objects on the OSTs' disks hold exactly the file's bytes"
rm -f "$T/big.src"

# ---- namespace ----
ok "mkdir" mkdir "$A/d"
ok "mkdir -p nested" mkdir -p "$A/d/e/f"
nok "rmdir of a non-empty directory fails" rmdir "$A/d/e"
ok "rmdir" rmdir "$A/d/e/f"
echo hello >"$A/d/h"
is "$(cat "$B/d/h")" hello "a small file is seen from the other mount"
ok "hard link" ln "$A/d/h" "$A/d/h2"
is "$(stat -c %h "$A/d/h")" 2 "link count 2"
ok "symlink" ln -s h "$A/d/s"
is "$(readlink "$B/d/s")" h "readlink from the other mount"
is "$(cat "$A/d/s")" hello "read through the symlink"
echo other >"$A/d/o"
ok "rename over an existing file" mv "$A/d/o" "$A/d/h2"
is "$(cat "$A/d/h2"):$(stat -c %h "$A/d/h")" "other:1" "target replaced, old inode lost a link"
ok "rename across directories" mv "$A/d/h2" "$A/d/e/moved"
ok "rename a directory" mv "$A/d/e" "$A/d/e2"
nok "a directory cannot move into itself" mv "$A/d/e2" "$A/d/e2/inside"
python3 - "$A/d" <<'PY' >"$T/rn.out" 2>&1
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
d = sys.argv[1]
open(d + "/x", "w").write("X"); open(d + "/y", "w").write("Y")
r = libc.renameat2(-100, (d + "/x").encode(), -100, (d + "/y").encode(), 1)  # NOREPLACE
print("noreplace", r, ctypes.get_errno())
r = libc.renameat2(-100, (d + "/x").encode(), -100, (d + "/y").encode(), 2)  # EXCHANGE
print("exchange", r, open(d + "/x").read(), open(d + "/y").read())
PY
like "$(cat "$T/rn.out")" "noreplace -1 17" "RENAME_NOREPLACE onto an existing name: EEXIST"
like "$(cat "$T/rn.out")" "exchange 0 Y X" "RENAME_EXCHANGE swaps two files"
ok "unlink" rm "$A/d/x" "$A/d/y"
ok "chmod and chown" sh -c "chmod 0640 '$A/d/h' && chown 1234:99 '$A/d/h'"
# The other mount may cache attributes for attr_timeout (1 s by default); an
# open there gets fresh ones at once (close-to-open).
is "$(cat "$B/d/h" >/dev/null && stat -c '%a %u %g' "$B/d/h")" "640 1234 99" "mode and owner seen from the other mount after an open"
ok "chmod again"  chmod 0604 "$A/d/h"
ok "and seen by stat alone there within attr_timeout" t_wait 3 "mode 604 on the other mount" sh -c "[ \"\$(stat -c %a '$B/d/h')\" = 604 ]"
ok "truncate down, then up" sh -c "printf 0123456789 >'$A/t' && truncate -s 4 '$A/t' && truncate -s 8 '$A/t'"
is "$(od -An -c "$B/t" | tr -s ' ')" " 0 1 2 3 \\0 \\0 \\0 \\0" "truncate keeps the head and zero-fills the extension"
mkdir "$A/many"; (cd "$A/many" && seq 1 2000 | xargs touch)
is "$(ls "$B/many" | wc -l)" 2000 "readdir of 2000 entries from the other mount"
is "$(ls -l "$B/many" | grep -c '^-')" 2000 "readdirplus (ls -l) of 2000 entries"
python3 -c "import os,sys; os.setxattr(sys.argv[1], 'user.test', b'v1'); print(os.getxattr(sys.argv[1], 'user.test').decode(), ' '.join(x for x in os.listxattr(sys.argv[1])))" "$A/d/h" >"$T/xa.out" 2>&1
is "$(cat "$T/xa.out")" "v1 user.test" "extended attributes: set, get, list"

# ---- layouts ----
mkdir "$A/wide"
ok "a directory default layout" sfs setstripe -c 2 -S 256k "$A/wide"
mkdir "$A/wide/sub"; echo x >"$A/wide/sub/f"
is "$(sfs getstripe "$A/wide/sub/f" | awk '/lmm_stripe_count|lmm_stripe_size/ {printf "%s ", $2}')" "2 262144 " "inherited by files in a new subdirectory"

# ---- data semantics ----
python3 - "$A/sparse" <<'PY' >"$T/sp.out" 2>&1
import os, sys, mmap
f = sys.argv[1]
fd = os.open(f, os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd, b"end", (5 << 30))            # > 4 GiB, sparse
os.pwrite(fd, b"mid", 10 << 20)
os.close(fd)
st = os.stat(f)
fd = os.open(f, os.O_RDONLY)
hole = os.pread(fd, 4096, 1 << 20)
m = mmap.mmap(fd, 16 << 20, prot=mmap.PROT_READ)
print(st.st_size, hole == bytes(4096), m[10 << 20:(10 << 20) + 3].decode(), os.pread(fd, 3, 5 << 30).decode())
PY
is "$(cat "$T/sp.out")" "$(((5 << 30) + 3)) True mid end" "sparse file > 4 GiB: holes read as zeros, mmap reads work"
ok "O_APPEND" sh -c "echo one >>'$A/ap' && echo two >>'$A/ap' && [ \"\$(cat '$B/ap')\" = \"\$(printf 'one\ntwo')\" ]"
head -c $((8 << 20)) /dev/urandom >"$T/dio.src"
ok "O_DIRECT write and read" sh -c "dd if='$T/dio.src' of='$A/dio' bs=1M oflag=direct status=none && dd if='$B/dio' of='$T/dio.back' bs=1M iflag=direct status=none && cmp '$T/dio.src' '$T/dio.back'"
# Small writes (buffered on the OSS) into a range written large (direct on
# the OSS), and an object that ends inside a page: the OSS's direct reads
# must see the small writes and stop at the object's end.
head -c $(((3 << 20) + 100005)) /dev/urandom >"$T/mix.src"
cp "$T/mix.src" "$T/mix.ref"
printf 'patched by small writes' | dd of="$T/mix.ref" bs=1 seek=$(((1 << 20) + 777)) conv=notrunc status=none
ok "small writes into a large range, an unaligned end: exact from the other mount" sh -c "dd if='$T/mix.src' of='$A/mix' bs=1M status=none && printf 'patched by small writes' | dd of='$A/mix' bs=1 seek=$(((1 << 20) + 777)) conv=notrunc status=none && cmp '$T/mix.ref' '$B/mix'"

# 4 writers on 2 mounts, disjoint 4 MiB ranges of one shared file (IOR without -F)
head -c $((16 << 20)) /dev/urandom >"$T/shared.src"
sfs setstripe -c 3 -S 1m "$A/shared"
pids=""
for k in 0 1 2 3; do
	m=$A; [ $((k % 2)) = 1 ] && m=$B
	dd if="$T/shared.src" of="$m/shared" bs=1M skip=$((k * 4)) seek=$((k * 4)) count=4 conv=notrunc status=none &
	pids="$pids $!"
done
wait $pids
ok "4 processes on 2 mounts writing disjoint ranges: byte-exact" cmp "$T/shared.src" "$A/shared"

# a file unlinked while open stays usable; its objects go after the last close
python3 - "$A/gone" <<'PY' >"$T/ul.out" 2>&1 &
import os, sys, time
f = sys.argv[1]
fd = os.open(f, os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"still here" * 100000)
os.fsync(fd)
print("written", flush=True)
while os.path.exists(f + ".go") is False:
    time.sleep(0.05)
os.unlink(f)
print(os.pread(fd, 10, 0).decode(), os.fstat(fd).st_nlink, flush=True)
while not os.path.exists(f + ".close"):
    time.sleep(0.05)
os.close(fd)
PY
py=$!
t_wait 10 "writer" grep -q written "$T/ul.out"
gone_obj=$(sfs_obj_path "$A" "$A/gone" 0)
touch "$A/gone.go"
t_wait 10 "unlinked read" grep -q "still here 0" "$T/ul.out"
like "$(cat "$T/ul.out")" "still here 0" "an unlinked open file still reads back, with 0 links"
ok "its object still exists while open" test -f "$gone_obj"
touch "$A/gone.close"; wait $py
ok "its object is destroyed after the last close" t_wait 15 "object gone" sh -c "! test -e '$gone_obj'"
df_out=$(df -k "$A" | tail -1)
like "$df_out" "127.0.0.1:$MDS_PORT:/sfs" "statfs: df shows the file system"
