#!/bin/bash
# StratusFS directory leases across mounts: a mount answers lookups and stats
# of names it has seen itself while it holds the MDS's lease on their
# directory, and still sees every change another mount makes as soon as the
# kernel's own 1 s cache has run out:
#  - a stat answered from the lease (answered_under_lease grows);
#  - chmod, a write, a remove and a rename on the other mount recall the lease
#    (leases_recalled grows) and the first mount sees the change;
#  - a mount that does not answer a recall (stopped) loses its lease after
#    the MDS's lease-recall-timeout, and the other mount's change goes through;
#  - a mount that goes away releases its leases at once;
#  - after an MDS restart nothing cached before counts;
#  - leases=false turns it off.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sfs-lib.sh"

plan 17

MPORT=$(t_free_port)
sfs_munged munge
sfs_mds --port "$MPORT" --lease-recall-timeout 2s --lease-cooldown 300ms
sfs_oss 0
sfs_mount a
sfs_mount b
A=$T/a B=$T/b
ok "1 OST up" sfs_wait_osts "$A" 1

# After the kernel's attribute and entry caches (1 s) have run out, every
# stat reaches sfs-mount.
past_kernel_cache() { sleep 1.2; }
# A directory whose lease was recalled is leased to nobody for the MDS's
# lease-cooldown (300 ms here): wait that out before A takes a lease.
past_cooldown() { sleep 0.5; }

mkdir "$B/d"
echo one >"$B/d/f"
echo two >"$B/d/g"
echo three >"$B/d/h"

# ---- answered from the lease ----
past_cooldown
stat "$A/d/f" >/dev/null
past_kernel_cache
h0=$(sfs_stat "$A" answered_under_lease)
is "$(stat -c %s "$A/d/f")" 4 "A sees f's size"
h1=$(sfs_stat "$A" answered_under_lease)
ok "A's second stat of f was answered under its lease ($h0 -> $h1)" test "$h1" -gt "$h0"

# ---- B's changes recall A's lease; A sees them ----
r0=$(sfs_stat "$A" leases_recalled)
chmod 600 "$B/d/f"
past_kernel_cache
is "$(stat -c %a "$A/d/f")" 600 "A sees B's chmod"
r1=$(sfs_stat "$A" leases_recalled)
ok "B's chmod recalled A's lease ($r0 -> $r1)" test "$r1" -gt "$r0"

past_cooldown
stat "$A/d/g" >/dev/null; stat "$A/d/g" >/dev/null
echo more >>"$B/d/g"
past_kernel_cache
is "$(stat -c %s "$A/d/g")" 9 "A sees the size B's append made"

past_cooldown
stat "$A/d/h" >/dev/null
rm "$B/d/h"
past_kernel_cache
ok "A sees that B removed h" test ! -e "$A/d/h"

past_cooldown
stat "$A/d/f" >/dev/null
echo new >"$B/d/n"
mv "$B/d/n" "$B/d/f"
past_kernel_cache
is "$(cat "$A/d/f")" new "A reads the file B renamed over f"

# ---- a mount that does not answer: its lease is taken back ----
past_cooldown
stat "$A/d/g" >/dev/null; stat "$A/d/g" >/dev/null
kill -STOP "$PID_mount_a"
t0=$(date +%s%N)
chmod 640 "$B/d/g"
t1=$(date +%s%N)
kill -CONT "$PID_mount_a"
ms=$(((t1 - t0) / 1000000))
ok "B's chmod went through while A was stopped, after the recall timeout (2 s; took $ms ms)" \
	test "$ms" -ge 1500 -a "$ms" -lt 15000
ok "the MDS logged that it took the lease back" grep -q "did not give back its lease" "$T/mds.log"
past_kernel_cache
is "$(stat -c %a "$A/d/g")" 640 "A sees the chmod after it runs again"

# ---- a mount that goes away gives its leases back at once ----
sfs_mount c
past_cooldown
stat "$T/c/d/f" >/dev/null; stat "$T/c/d/f" >/dev/null
t_stop "$PID_mount_c" KILL
umount -l "$T/c" 2>/dev/null
t0=$(date +%s%N)
chmod 604 "$B/d/f"
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
ok "a chmod after the lease holder died takes no recall timeout ($ms ms)" test "$ms" -lt 1500

# ---- after an MDS restart nothing from before counts ----
past_cooldown
stat "$A/d/f" >/dev/null; stat "$A/d/f" >/dev/null
t_stop "$MDS_PID" KILL
rm -f "$T/mds.port"
sfs_mds --port "$MPORT" --lease-recall-timeout 2s --lease-cooldown 300ms
ok "the OST is back" sfs_wait_osts "$B" 1
chmod 611 "$B/d/f"
past_kernel_cache
is "$(stat -c %a "$A/d/f")" 611 "A sees a chmod made after the MDS restarted"

# ---- leases=false ----
sfs_mount e leases=false
stat "$T/e/d/f" >/dev/null
past_kernel_cache
stat "$T/e/d/f" >/dev/null
is "$(sfs_stat "$T/e" answered_under_lease)" 0 "a leases=false mount answers nothing under a lease"
ok "nothing was logged as malformed" sh -c "! grep -q malformed '$T'/*.log"
ok "the mounts are still mounted" mountpoint -q "$A"
