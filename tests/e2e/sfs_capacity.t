#!/bin/bash
# sfs-oss --capacity: an OST of 8 MiB on a large disk.  `sfs df` shows the
# cap; a file on that OST takes what fits and a write beyond the cap fails
# with ENOSPC, leaving what was written intact; removing a file gives its
# space back; a restarted OSS counts what its OST already holds.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sfs-lib.sh"

plan 10
sfs_munged munge
sfs_mds
sfs_oss 0
P1=$(t_free_port)
sfs_oss 1 --port "$P1" --capacity 8m
sfs_mount a
A=$T/a
ok "2 OSTs up, one capped at 8 MiB" sfs_wait_osts "$A" 2
# The capped OST's index: the one served on port P1.
cap_idx=$(sfs osts "$A" | awk -v p=":$P1" 'substr($3, length($3) - length(p) + 1) == p { sub(":", "", $1); print $1 }')
like "$cap_idx" '^[0-9]+$' "the capped OST is listed (index $cap_idx)"
# df_of FIELD: 1K-block figures of the capped OST from `sfs df` (2 size, 3 used, 4 available)
df_of() { sfs df "$A" | awk -v n="$(printf 'OST%04x' "$cap_idx")" -v f="$1" '$1 == n { print $f }'; }
# avail_le KiB / avail_ge KiB: the capped OST's available space as the MDS sees it (heartbeats)
avail_le() { [ "$(df_of 4)" -le "$1" ]; }
avail_ge() { [ "$(df_of 4)" -ge "$1" ]; }
is "$(df_of 2)" 8192 "sfs df shows the OST's size as the cap (8192 1K-blocks)"

sfs setstripe -c 1 -i "$cap_idx" "$A/small"
head -c $((3 << 20)) /dev/urandom >"$T/small.src"
ok "3 MiB fit" cp "$T/small.src" "$A/small"
ok "sfs df shows 5 MiB or less available after 3 MiB" t_wait 10 "df to show the 3 MiB" avail_le $((5 << 10))

sfs setstripe -c 1 -i "$cap_idx" "$A/big"
out=$(dd if=/dev/zero of="$A/big" bs=1M count=16 conv=fsync 2>&1); rc=$?
like "$out" "No space left on device" "writing 16 MiB to the 8 MiB OST fails with ENOSPC"
ok "the file written before reads back identical" cmp "$T/small.src" "$A/small"

t_wait 10 "df to show the OST full" avail_le 1024
rm -f "$A/big"
t_wait 15 "the space of the removed file back" avail_ge $((4 << 10))
sfs setstripe -c 1 -i "$cap_idx" "$A/again"
ok "after removing the file, 4 MiB fit again" sh -c "head -c $((4 << 20)) /dev/urandom >'$T/again.src' && cp '$T/again.src' '$A/again' && sync '$A/again' && cmp '$T/again.src' '$A/again'"

# A restarted OSS counts what is on its OST: 7 MiB held, 1 MiB left.
kill "$OSS_PID_1"
wait "$OSS_PID_1" 2>/dev/null
rm -f "$T/oss1.port"
sfs_oss 1 --port "$P1" --capacity 8m
like "$(cat "$T/oss1.log")" "holds 7340032 of its 8388608 bytes" "the restarted OSS counts what its OST holds (7 MiB)"
sfs setstripe -c 1 -i "$cap_idx" "$A/over"
out=$(dd if=/dev/zero of="$A/over" bs=1M count=4 conv=fsync 2>&1)
like "$out" "No space left on device" "and refuses what goes beyond the cap"
