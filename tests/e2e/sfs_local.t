#!/bin/bash
# `sfs local up/down` (the interface the benchmarks and templates use), the
# admin tool's df/osts/getstripe, online growth (an OSS added while mounted
# is used by the next -c -1 file) and `sfs migrate` emptying an OST with
# every file still reading back identical.
. "$(dirname "$0")/../lib.sh"
t_need_root
t_need_cmd munged fusermount3

plan 16
D=$T/fs M=$T/mnt
t_on_cleanup "sfs local down '$D'"
out=$(sfs local up "$D" --oss 2 --mount "$M" --stripe-count -1 --oss-bandwidth 500m 2>&1)
rc=$?
is "$rc" 0 "sfs local up starts munged, an MDS, 2 OSSs and a mount"
like "$out" "^mds 127\.0\.0\.1:[0-9]+" "it prints the MDS address"
ok "the mount is up" mountpoint -q "$M"
is "$(sfs osts "$M" | grep -c ' up$')" 2 "sfs osts lists 2 OSTs up"
like "$(sfs df -h "$M")" "filesystem_summary:" "sfs df prints a summary"
head -c $((12 << 20)) /dev/urandom >"$T/a.src"
cp "$T/a.src" "$M/a"
is "$(sfs getstripe "$M/a" | awk '/lmm_stripe_count/ {print $2}')" 2 "a -c -1 file spans both OSTs"

# ---- online growth ----
ok "sfs local add-oss starts a third OSS" sfs local add-oss "$D"
cp "$T/a.src" "$M/b"
is "$(sfs getstripe "$M/b" | awk '/lmm_stripe_count/ {print $2}')" 3 "the next -c -1 file spans the new OSS, no remount"

# ---- migrate: empty OST 0 ----
mkdir "$M/dir"
for i in 1 2 3 4 5; do sfs setstripe -c 1 -i 0 "$M/dir/f$i"; head -c $((i << 20)) /dev/urandom >"$T/f$i.src"; cp "$T/f$i.src" "$M/dir/f$i"; done
on0() { sfs getstripe "$M/a" "$M/b" "$M"/dir/* | awk '/^\t/ && $1 == 0' | wc -l; }
like "$(on0)" "^[1-9]" "before: files have objects on OST 0"
ok "sfs migrate --ost 0 moves every file off OST 0" sfs migrate --ost 0 --munge-socket "$D/munge.sock" "$M"
is "$(on0)" 0 "after: no stripe on OST 0"
bad=0
cmp -s "$T/a.src" "$M/a" || bad=1
cmp -s "$T/a.src" "$M/b" || bad=1
for i in 1 2 3 4 5; do cmp -s "$T/f$i.src" "$M/dir/f$i" || bad=1; done
is "$bad" 0 "every migrated file reads back identical"
ost0=$(ls -d "$D"/ost0)
ok "OST 0's old objects are destroyed" t_wait 15 "ost0 empty" sh -c "[ \$(find '$ost0/O' -type f | wc -l) -eq 0 ]"

# ---- down ----
ok "sfs local down" sfs local down "$D"
nok "the mount is gone" mountpoint -q "$M"
pids=$(cat "$D"/*.pid 2>/dev/null | tr '\n' ' ')
is "$pids" "" "every recorded daemon is stopped and its pid file removed"
