#!/bin/bash
# The seed's "terminating an OSS is not a good idea", made safe: a storage
# cluster from the shipped template (mds with its own OST + 1 oss), files
# striped over both OSTs, then `stratus terminate_node` of the oss node: its
# stop script makes its OST inactive, drains it with `sfs migrate`, stops
# sfs-oss and removes the OST; the node goes Off, every file reads back
# identical and the OST is gone from `sfs osts`.  When the drain cannot
# succeed (no other active OST), the node is kept, Failed, with its data.
export TMPDIR=/var/tmp
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mgr_lib.sh"
t_need_root
t_need_cmd munged sshd perl fusermount3 sha256sum
for p in stratusd stratus stratus-node sfs-mds sfs-oss sfs-mount sfs; do
	[ -x "$BIN/$p" ] || skip_all "$p is not built"
done

ST=sd$$
ND=/var/lib/stratus-nodes
x=$(( ($$ / 256) % 200 + 20 )); y=$(( ($$ + 160) % 256 ))
for try in 0 1 2 3 4 5 6 7; do
	net="10.$x.$(( (y + try) % 256 ))"
	ip -4 route show | grep -q "^$net\." || break
done
MGR_NET=$net.0/24
mgr_start "$T/state" || bail "stratusd did not start"
mgr_login || bail "stratus initialize failed"
live() { stratus show_nodes "$ST" 2>/dev/null | grep -qE 'Acquiring|Preparing|Ready|Failed|Terminating'; }
down() { live || return 0; stratus terminate_cluster "$ST" --force >/dev/null 2>&1; t_wait 60 "$ST off" eval '! live'; }
t_on_cleanup "rm -rf $ND/clusters/$ST $ND/nodes/$ST-*"
t_on_cleanup down
events() { mgr_curl GET "/clusters/$ST/events" -H "Authorization: Bearer $(mgr_token)" >/dev/null; cat "$T/body"; }
reason() { stratus show_nodes "$ST" --format json | NODE="$ST-$1" perl -MJSON::PP -0e \
	'for (@{decode_json(<STDIN>)}) { print $_->{reason} // "" if $_->{name} eq $ENV{NODE} }'; }
node_ip() { stratus show_nodes "$ST" --format json | NODE="$ST-$1" perl -MJSON::PP -0e \
	'for (@{decode_json(<STDIN>)}) { print $_->{ip} if $_->{name} eq $ENV{NODE} }'; }

plan 14
(cd "$TOP/projects/stratusfs" && stratus project upload default >/dev/null) &&
	stratus import_template -f "$TOP/templates/stratusfs.txt" >/dev/null &&
	echo '{"InitialOss": 1, "MaxOss": 2, "FsName": "drainfs", "StripeCount": -1}' >"$T/p.json" &&
	stratus create_cluster stratusfs "$ST" -p "$T/p.json" >/dev/null && stratus start_cluster "$ST" >/dev/null
ok "the storage cluster (mds + 1 oss) becomes Ready" t_wait 120 "2 Ready" mgr_count_is "$ST" Ready 2

# A client on the manager host, in a directory of this test's own.
export SFS_MUNGE_SOCKET=$ND/nodes/$ST-mds/stratusfs/munge/munge.socket
read -r mds fsname <"$ND/clusters/$ST/stratusfs/mds"
M=$T/mnt
mkdir -p "$M"
t_start mount sfs-mount -f --munge-socket "$SFS_MUNGE_SOCKET" "$mds:/$fsname" "$M"
t_track_mount "$M"
# Unmounted before the cluster goes (cleanups run last registered first).
t_on_cleanup "fusermount3 -u '$M'"
t_wait 20 "mount" mountpoint -q "$M" || bail "cannot mount $mds:/$fsname"
t_wait 20 "2 OSTs up" sh -c "[ \$(sfs osts '$M' | grep -c ' up\$') = 2 ]"
oss_ip=$(node_ip oss-1)
oss_idx() { sfs osts "$M" | awk -v a="$oss_ip:" 'index($3, a) == 1 { sub(":", "", $1); print $1 }'; }
idx=$(oss_idx)
like "$idx" '^[0-9]+$' "the oss node's OST is in sfs osts ($oss_ip)"
mkdir "$M/data"
for i in 1 2 3 4 5 6 7 8; do head -c $((i * 400000)) /dev/urandom >"$M/data/f$i"; done
(cd "$M/data" && sha256sum f*) >"$T/sums"
on_oss() { sfs getstripe "$M"/data/* | awk -v i="$1" '/^\t/ && $1 == i' | wc -l; }
is "$(on_oss "$idx")" 8 "every file has a stripe on the oss node's OST"

# The drain cannot succeed while the mds's OST takes no new objects: the
# oss node is kept, Failed, its data and OST still there.
other=$(sfs osts "$M" | awk -v a="$oss_ip:" 'index($3, a) != 1 && $1 ~ /^[0-9]+:$/ { sub(":", "", $1); print $1 }')
sfs ost deactivate "$other" "$M" >/dev/null
ok "terminate_node oss-1 while no other OST takes objects" stratus terminate_node "$ST" oss-1
ok "keeps the node, Failed" t_wait 90 "oss-1 Failed" mgr_is "$ST" "$ST-oss-1" Failed
like "$(reason oss-1)" "^stop script oss/stop/10-drain.sh exited 1; the node was not destroyed" \
	"its reason names the drain script"
is "$(sfs osts "$M" | awk -v i="$idx:" '$1 == i { print $4 }')" up "its OST is active again and up"
is "$(cd "$M/data" && sha256sum -c --quiet "$T/sums" 2>&1; echo "rc=$?")" "rc=0" "every file still reads back identical"

sfs ost activate "$other" "$M" >/dev/null
t0=$(date +%s.%N)
ok "terminate_node oss-1 again" stratus terminate_node "$ST" oss-1
ok "drains it and turns it Off" t_wait 120 "oss-1 Off" mgr_is "$ST" "$ST-oss-1" Off
diag "terminate_node to Off with 8 files (14.4 MB) to drain: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
is "$(oss_idx)" "" "its OST is gone from sfs osts"
is "$(on_oss "$idx")" 0 "no file has a stripe on it any more"
is "$(cd "$M/data" && sha256sum -c --quiet "$T/sums" 2>&1; echo "rc=$?")" "rc=0" "every file reads back identical (sha256)"
like "$(events)" "stop script oss/stop/10-drain.sh succeeded" "the drain is an event of the node"
