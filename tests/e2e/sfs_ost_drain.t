#!/bin/bash
# Taking an OST out of a mounted file system without losing a byte, by hand
# (what the stratusfs oss stop script does): `sfs ost deactivate` keeps new
# objects off it, `sfs ost remove` is refused while a file has an object on
# it, `sfs migrate --ost` empties it, and once its OSS is stopped `sfs ost
# remove` drops it from `sfs osts`; every file reads back identical.
. "$(dirname "$0")/../lib.sh"
t_need_root
t_need_cmd munged fusermount3 sha256sum

plan 11
D=$T/fs M=$T/mnt
t_on_cleanup "sfs local down '$D'"
sfs local up "$D" --oss 2 --mount "$M" --stripe-count -1 >/dev/null 2>&1 || bail "sfs local up failed"
export SFS_MUNGE_SOCKET=$D/munge.sock
mkdir "$M/d"
for i in 1 2 3 4 5 6; do head -c $((i * 700000)) /dev/urandom >"$M/d/f$i"; done
(cd "$M/d" && sha256sum f*) >"$T/sums"
on1() { sfs getstripe "$M"/d/* | awk '/^\t/ && $1 == 1' | wc -l; }
like "$(on1)" "^[1-9]" "files are striped over OST 1"

ok "sfs ost deactivate 1" sfs ost deactivate 1 "$M"
like "$(sfs osts "$M")" "1: .* inactive" "sfs osts shows OST 1 inactive"
head -c 3000000 /dev/urandom >"$M/new"
is "$(sfs getstripe "$M/new" | awk '/^\t/ && $1 == 1' | wc -l)" 0 "a new -c -1 file gets no object on the inactive OST"
nok "sfs ost remove 1 is refused while files have objects on it" sfs ost remove 1 "$M"
ok "sfs migrate --ost 1 empties it" sfs migrate --ost 1 "$M"
is "$(on1)" 0 "no stripe is left on OST 1"
# The OSSs register in parallel: OST index 1 is not always the second
# process's.  Stop the one whose OST has index 1's uuid.
uuid1=$(sfs osts "$M" | awk '$1 == "1:" {print $2}')
pidf=
for k in 0 1; do [ "$(cat "$D/ost$k/ost_uuid" 2>/dev/null)" = "$uuid1" ] && pidf=$D/oss$k.pid; done
[ -n "$pidf" ] || bail "no OSS of '$D' serves OST 1 ($uuid1)"
oss1=$(cat "$pidf")
kill "$oss1"
t_wait 10 "oss of OST 1 gone" sh -c "! kill -0 $oss1 2>/dev/null"
ok "with its OSS stopped, sfs ost remove 1 succeeds" sfs ost remove 1 "$M"
is "$(sfs osts "$M" | grep -c "^1: ")" 0 "OST 1 is gone from sfs osts"
is "$(cd "$M/d" && sha256sum -c --quiet "$T/sums" 2>&1; echo "rc=$?")" "rc=0" "every file reads back identical (sha256)"
nok "an unknown OST cannot be removed" sfs ost remove 7 "$M"
