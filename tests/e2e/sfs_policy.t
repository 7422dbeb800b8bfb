#!/bin/bash
# StratusFS policies: root squash (and its exemption by client network), the
# allocator (round-robin over balanced OSTs, weighted by free space when one
# OST is much fuller), and a large directory (every entry found by readdir,
# lookup and stat; speed is measured by bench/fs-bigdir, not here).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sfs-lib.sh"

plan 19

sfs_munged munge
MPORT=$(t_free_port)
# Two OSTs on tmpfs of the same size, so their free space is ours to set.
for i in 0 1; do
	mkdir -p "$T/q$i"
	mount -t tmpfs -o size=256m tmpfs "$T/q$i" && t_track_mount "$T/q$i"
done
start_mds() { rm -f "$T/mds.port"; sfs_mds --port "$MPORT" --root-squash 65534:65534 "$@"; }

# ---- root squash, with this client's network exempt first ----
start_mds --nosquash-nets 10.255.0.0/16,127.0.0.0/8
sfs_oss 0 --dir "$T/q0/ost"
sfs_oss 1 --dir "$T/q1/ost"
sfs_mount a
A=$T/a
ok "2 OSTs up" sfs_wait_osts "$A" 2
ok "an exempt root creates in the root directory" touch "$A/byroot"
is "$(stat -c %u:%g "$A/byroot")" "0:0" "and owns what it made"
mkdir "$A/open" && chmod 1777 "$A/open"
echo secret >"$A/private" && chown 1000:1000 "$A/private" && chmod 0600 "$A/private"

t_stop "$MDS_PID"
start_mds
ok "the restarted MDS squashes this client's root" t_wait 20 "mds back" stat "$A/open"
nok "a squashed root cannot create in a root-owned 0755 directory" touch "$A/rootdir-file"
ok "it can create in a world-writable directory" touch "$A/open/f"
is "$(stat -c %u:%g "$A/open/f")" "65534:65534" "as 65534:65534 (the squash ids)"
nok "it cannot read another user's 0600 file" cat "$A/private"
nok "nor chown what it owns to root" chown 0:0 "$A/open/f"
nok "nor chmod a file it does not own" chmod 0644 "$A/private"

# ---- the allocator ----
t_stop "$MDS_PID"
start_mds --nosquash-nets 127.0.0.0/8
ok "MDS back without squash for this client" t_wait 20 "mds back" touch "$A/probe"
ok "both OSTs up again" sfs_wait_osts "$A" 2
mkdir "$A/rr"
# ost_of FILE: the OST index of a 1-stripe file.
ost_of() { sfs getstripe "$1" | awk '/^\t/ && $1 ~ /^[0-9]+$/ {print $1; exit}'; }
count_on() { # DIR: "n0 n1", files of DIR on OST 0 and 1
	local f n0=0 n1=0
	for f in "$1"/*; do
		case $(ost_of "$f") in 0) n0=$((n0 + 1)) ;; 1) n1=$((n1 + 1)) ;; esac
	done
	echo "$n0 $n1"
}
for i in $(seq 1 100); do : >"$A/rr/f$i"; done
read -r n0 n1 < <(count_on "$A/rr")
ok "balanced OSTs: new files round-robin ($n0 on OST 0, $n1 on OST 1)" test $((n0 - n1)) -ge -2 -a $((n0 - n1)) -le 2 -a $((n0 + n1)) -eq 100

# Fill the OST on q0 to about 80%, wait for its heartbeat to say so.
uuid0=$(cat "$T/q0/ost/ost_uuid")
idx0=$(sfs osts "$A" | awk -v u="$uuid0" '$2 == u {sub(":", "", $1); print $1}')
sfs setstripe -c 1 -i "$idx0" "$A/filler"
dd if=/dev/zero of="$A/filler" bs=1M count=200 conv=fsync status=none
ok "the filled OST reports less free space" t_wait 10 "heartbeat" sh -c \
	"sfs df '$A' | awk '\$NF ~ /OST:$idx0\\]/ {f = 1; low = \$4 < 80 * 1024} END {exit !(f && low)}'"
mkdir "$A/qos"
for i in $(seq 1 200); do : >"$A/qos/f$i"; done
read -r n0 n1 < <(count_on "$A/qos")
if [ "$idx0" = 0 ]; then full=$n0 empty=$n1; else full=$n1 empty=$n0; fi
# Weights are free space: about 56 MiB against 256 MiB, so ~36 of 200 on the full one.
ok "unbalanced OSTs: most new files go to the emptier OST ($empty vs $full)" test "$empty" -ge 130
ok "weighted, not exclusive: the fuller OST still gets some" test "$full" -ge 5

# ---- a large directory: every entry found (bench/fs-bigdir times 100,000) ----
N=10000
mkdir "$A/big"
python3 - "$A/big" "$N" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    os.close(os.open("%s/entry-%06d" % (d, i), os.O_CREAT | os.O_WRONLY, 0o644))
PY
is "$(ls -f "$A/big" | grep -c '^entry-')" "$N" "readdir lists all $N entries of a large directory"
is "$(ls -l "$A/big" | grep -c ' entry-')" "$N" "readdirplus (ls -l) too"
ok "lookups of names spread over the directory" sh -c "for i in 0 1 4999 7777 $((N - 1)); do stat '$A/big/entry-'\$(printf %06d \$i) >/dev/null || exit 1; done"
done_testing
