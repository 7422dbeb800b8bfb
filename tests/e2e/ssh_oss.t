#!/bin/bash
# An OSS node on a host pool: the storage cluster from the SHIPPED stratusfs
# template and project on three "existing machines" (ssh_lib.sh), its mds (with
# its own OST) on one; `stratus add_node STORAGE -t oss -c 1` takes a second
# machine from the pool and its OST joins the file system (listed by sfs df,
# spanned by a -c -1 file written after); terminating that node runs the oss
# spec's stop script on the machine (STRATUS_STOP_SCOPE=node: drain the OST
# into the others, stop sfs-oss, remove the OST), every file still reads back
# identical, and the machine goes back to the pool clean.
export TMPDIR=/var/tmp
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
t_need_root
t_need_cmd ip sshd ssh ssh-keygen nsenter unshare curl perl tar munged fusermount3
for p in stratusd stratus stratus-node sfs-mds sfs-oss sfs-mount sfs; do
	[ -x "$BIN/$p" ] || skip_all "$p is not built"
done

plan 18
NM=3
ssh-keygen -q -t ed25519 -N '' -C "pool-$$" -f "$T/poolkey" || bail "ssh-keygen failed"
ssh_net_up || bail "cannot make the test's bridge"
for i in $(seq 1 $NM); do ssh_machine_up "$i" || bail "machine$i did not start"; m_count_mounts "$i"; done
# The folder the pool's machines share (NFS on real machines), at the same path on each.
DATA="/var/tmp/stratus-pooldata.$$"
mkdir -p -m 0755 "$DATA" || bail "cannot make '$DATA'"
t_on_cleanup "[ \$_t_failed -ne 0 ] || [ \${T_KEEP:-0} = 1 ] || rm -rf '$DATA'"

ssh_manager_up

ST=st$$
live() { stratus show_nodes "$1" 2>/dev/null | grep -qE 'Acquiring|Preparing|Ready|Failed|Terminating'; }
down() { live "$1" || return 0; stratus terminate_cluster "$1" --force >/dev/null 2>&1; t_wait 120 "$1 off" eval "! live $1"; }
t_on_cleanup "down $ST"
nstate() { stratus show_nodes "$1" --format json | NODE="$2" perl -MJSON::PP -0e \
	'for (@{decode_json(<STDIN>)}) { print $_->{state} if $_->{name} eq $ENV{NODE} }'; }
nip() { stratus show_nodes "$1" --format json | NODE="$2" perl -MJSON::PP -0e \
	'for (@{decode_json(<STDIN>)}) { print $_->{ip} if $_->{name} eq $ENV{NODE} }'; }
mi() { echo $(( ${1##*.} - 10 )); }

P=pool$$
stratus pool create "$P" --probe-interval 1s --fail-after 20s --connect-timeout 5 >/dev/null || bail "pool create failed"
for i in $(seq 1 $NM); do
	stratus host add "$P" "h$$-$i" "$SSH_NET.$((10 + i))" --key "$T/poolkey" >/dev/null || bail "host add h$i failed"
done
(cd "$TOP/projects/stratusfs" && stratus project upload default) >/dev/null 2>&1 || bail "project upload failed"
stratus import_template -f "$TOP/templates/stratusfs.txt" >/dev/null || bail "template import failed"

# ---- the storage cluster on the pool: the mds, with its own OST ----
printf '{"InitialOss": 0, "FsName": "ossfs", "HostPool": "%s", "NodeDataDir": "%s"}\n' "$P" "$DATA" >"$T/st.json"
stratus create_cluster stratusfs "$ST" -p "$T/st.json" >/dev/null && stratus start_cluster "$ST" >/dev/null
ok "the storage cluster's mds becomes Ready on a pool machine" \
	t_wait 150 "mds Ready" eval "[ \"\$(nstate $ST $ST-mds)\" = Ready ]" ||
	stratus show_nodes "$ST" -l 2>&1 | tail -n 30 | sed 's/^/# /'
mm=$(mi "$(nip "$ST" "$ST-mds")")

# A client on the mds machine, with the mds node's munged (the test's own
# mount: unmounted before the cluster goes, so the machine ends clean).
SOCK="$DATA/nodes/$ST-mds/stratusfs/munge/munge.socket"
# The MDS's address as the mds node published it through the manager (no folder holds it).
read -r mds fsname < <(m_exec "$mm" /opt/stratus/bin/stratus-node lookup --config /opt/stratus/agent.conf \
	--wait 30 stratusfs.mds) || bail "the mds did not publish its address"
inm() { m_exec "$mm" env -i PATH=/opt/stratus/bin:/usr/sbin:/usr/bin:/sbin:/bin SFS_MUNGE_SOCKET="$SOCK" "$@"; }
MNT=/tmp/ossmnt
unmount() { inm sh -c "fusermount3 -u $MNT 2>/dev/null || umount -l $MNT 2>/dev/null; true"; }
t_on_cleanup unmount
inm mkdir -p "$MNT"
inm sfs-mount --munge-socket "$SOCK" --pid-file /tmp/ossmnt.pid --log-file /tmp/ossmnt.log "$mds:/$fsname" "$MNT"
mounted() { inm mountpoint -q "$MNT"; }
ok "a client mounts the file system on the mds machine" t_wait 30 "the mount" mounted ||
	sed 's/^/# /' "$T/m$mm/tmp/ossmnt.log"
is "$(inm sfs osts "$MNT" | grep -c ' up$')" 1 "one OST to begin with (the mds's own)"

# ---- grow: an oss node on the next pool machine ----
out=$(stratus add_node "$ST" -t oss -c 1 2>&1)
oss=$(stratus show_nodes "$ST" --format json | perl -MJSON::PP -0e 'for (@{decode_json(<STDIN>)}) { print $_->{name} if $_->{name} =~ /-oss-/ }')
like "$oss" "^$ST-oss-[0-9]+\$" "add_node -t oss -c 1 makes an oss node ($out)"
ok "the oss node becomes Ready" t_wait 150 "$oss Ready" eval "[ \"\$(nstate $ST $oss)\" = Ready ]" ||
	stratus show_nodes "$ST" -l 2>&1 | tail -n 30 | sed 's/^/# /'
oip=$(nip "$ST" "$oss"); om=$(mi "$oip")
like "$( [ "$om" != "$mm" ] && m_exec "$om" ps -e -o comm=)" "sfs-oss" \
	"it runs on another machine of the pool ($oip), where sfs-oss serves its OST"
osts_up() { [ "$(inm sfs osts "$MNT" | grep -c ' up$')" -eq "$1" ]; }
ok "its OST registers with the mds: sfs osts shows 2 up" t_wait 30 "2 OSTs up" osts_up 2
new_idx=$(inm sfs osts "$MNT" | awk -v a="$oip" 'index($3, a ":") == 1 { sub(":", "", $1); print $1; exit }')
like "$(inm sfs df "$MNT")" "$(printf 'OST%04x' "${new_idx:-99}") .*\\[OST:$new_idx\\]" "sfs df lists the new OST (index $new_idx, on $oip)"

head -c $((8 << 20)) /dev/urandom >"$T/wide.src"
inm sfs setstripe -c -1 "$MNT/wide"
cat "$T/wide.src" | inm sh -c "cat >$MNT/wide"
nstripes=$(inm sfs getstripe "$MNT/wide" | awk '/lmm_stripe_count/ {print $2}')
is "$nstripes" 2 "a -c -1 file written now spans both OSTs, the new one included"
is "$(inm sfs getstripe "$MNT/wide" | awk -v i="$new_idx" '/^\t/ && $1 == i' | wc -l)" 1 "one of its stripes is on the new OST ($new_idx)"

# ---- shrink: terminating the oss node drains its OST ----
stratus terminate_node "$ST" "$oss" >/dev/null 2>&1
ok "terminating the oss node turns it Off (its stop script drained the OST)" \
	t_wait 150 "$oss Off" eval "[ \"\$(nstate $ST $oss)\" = Off ]" ||
	stratus show_nodes "$ST" -l 2>&1 | tail -n 30 | sed 's/^/# /'
like "$(cat "$S/nodes/$oss/release.log" 2>/dev/null | tr '\n' ' ')" "OST $new_idx drained.*OST $new_idx removed from the file system" \
	"the release log shows the oss spec's stop script draining and removing the OST"
is "$(inm sfs osts "$MNT" | grep -c '^ *[0-9]')" 1 "the file system is back to one OST"
inm cat "$MNT/wide" >"$T/wide.back"
ok "the wide file reads back identical after the drain" cmp -s "$T/wide.src" "$T/wide.back"
msg=$(m_clean "$om")
is "$msg" "" "the oss machine is clean: no process, mount or file of ours left"

unmount
down "$ST"
ok "the storage cluster terminates" sh -c "! stratus show_nodes $ST 2>/dev/null | grep -qE 'Acquiring|Preparing|Ready|Failed|Terminating'"
bad=""
for i in $(seq 1 $NM); do msg=$(m_clean "$i") || bad="$bad $msg"; done
is "$bad" "" "every machine is clean after the cluster terminates (stop scripts with STRATUS_STOP_SCOPE=cluster)"
is "$(stratus host list "$P" | grep -c ' free')" "$NM" "and every host is free in the pool"
