#!/bin/bash
# StratusFS failures: servers killed with -9 and restarted under a mounted
# client, a server left down (EIO after the mount's timeout), a request
# retried after a crash between commit and reply (applied once), a client
# with another cluster's MUNGE key refused, malformed frames dropping only
# their sender, and a full OST giving ENOSPC.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sfs-lib.sh"

plan 21
TIMEOUT_S=6

sfs_munged munge
MPORT=$(t_free_port)
start_mds() { rm -f "$T/mds.port"; sfs_mds --port "$MPORT" "$@"; }
start_mds
P1=$(t_free_port)
sfs_oss 0
sfs_oss 1 --port "$P1"
sfs_mount a "timeout=${TIMEOUT_S}s"
A=$T/a
ok "2 OSTs up" sfs_wait_osts "$A" 2

# ---- kill -9 of an OSS during a write: restart it, the write completes ----
head -c $((96 << 20)) /dev/urandom >"$T/src"
sfs setstripe -c 2 -S 1m "$A/during"
( dd if="$T/src" of="$A/during" bs=1M conv=notrunc status=none; echo "dd=$?" >"$T/dd.rc" ) &
ddp=$!
t_wait 20 "write under way" sh -c "[ \$(stat -c %s '$A/during') -ge $((8 << 20)) ]"
kill -9 "$OSS_PID_1"; wait "$OSS_PID_1" 2>/dev/null
sleep 1
sfs_oss 1 --port "$P1"
wait $ddp
is "$(cat "$T/dd.rc")" "dd=0" "a write survives kill -9 and restart of an OSS"
ok "and the file reads back identical" cmp "$T/src" "$A/during"

# ---- an OSS left down: EIO after the mount's timeout, never a hang ----
sfs setstripe -c 2 "$A/stuck"
kill -9 "$OSS_PID_1"; wait "$OSS_PID_1" 2>/dev/null
start=$(date +%s)
out=$(dd if="$T/src" of="$A/stuck" bs=1M count=4 conv=notrunc,fsync 2>&1); rc=$?
took=$(( $(date +%s) - start ))
isnt_zero() { [ "$1" -ne 0 ]; }
ok "with the OSS down the write fails" isnt_zero $rc
like "$out" "Input/output error" "with EIO"
ok "after the mount's timeout once, not once per call (write, then fsync: ${took}s, timeout ${TIMEOUT_S}s)" test "$took" -ge $((TIMEOUT_S - 1)) -a "$took" -le $((TIMEOUT_S + 3))
sfs_oss 1 --port "$P1"
ok "the OSS is picked up again without remounting" sh -c "dd if='$T/src' of='$A/after' bs=1M count=8 status=none && cmp -n $((8 << 20)) '$T/src' '$A/after'"

# ---- kill -9 of the MDS after fsync: data and size intact ----
python3 - "$A/synced" "$T/src" <<'PY'
import os, sys
data = open(sys.argv[2], "rb").read(5 << 20) + b"tail"
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, data)
os.fsync(fd)
PY
head -c $((5 << 20)) "$T/src" >"$T/synced.want"; printf tail >>"$T/synced.want"
kill -9 "$MDS_PID"; wait "$MDS_PID" 2>/dev/null
start_mds
ok "after kill -9 and restart of the MDS the fsync'd file is intact" t_wait 20 "mds back" cmp "$T/synced.want" "$A/synced"
is "$(stat -c %s "$A/synced")" $(((5 << 20) + 4)) "with its size"
ok "and OSTs re-register with the restarted MDS" sfs_wait_osts "$A" 2

# ---- a request retried after a crash between commit and reply is applied once ----
kill "$MDS_PID"; wait "$MDS_PID" 2>/dev/null
start_mds --fault-crash-after MKDIR
( mkdir "$A/once"; echo "mkdir=$?" >"$T/mkdir.rc" ) &
mkp=$!
t_wait 10 "mds crashed" sh -c "! kill -0 $MDS_PID 2>/dev/null || [ \"\$(ps -o stat= -p $MDS_PID | cut -c1)\" = Z ]"
wait "$MDS_PID" 2>/dev/null
like "$(cat "$T/mds.log")" "fault injection: crashing after committing CLTOMD_MKDIR" "the MDS crashed after committing mkdir, before answering"
start_mds
wait $mkp
is "$(cat "$T/mkdir.rc")" "mkdir=0" "the retried mkdir succeeds (answered from the reply cache, not EEXIST)"
is "$(ls "$A" | grep -c '^once$')" 1 "and made exactly one directory"

# ---- trust ----
sfs_munged other
mkdir -p "$T/intruder"
out=$(timeout 30 sfs-mount -f "127.0.0.1:$MPORT:/sfs" "$T/intruder" -o "munge_socket=$T/other.sock,timeout=3s" 2>&1); rc=$?
ok "a client with another cluster's MUNGE key is refused" isnt_zero $rc
like "$out" "refused this client" "and told why"
like "$(cat "$T/mds.log")" "refusing '127.0.0.1:[0-9]+': MUNGE credential refused" "the MDS logs the refusal"

# ---- malformed frames drop only their sender ----
bad=0
for mode in garbage bad-magic huge-payload huge-bulk truncated unknown-op bad-payload no-hello reply-flag; do
	"$TOOLS/sfs-badpeer" --port "$MPORT" --munge-socket "$T/munge.sock" --mode $mode >/dev/null 2>&1 || { bad=1; diag "MDS kept a peer that sent $mode"; }
	"$TOOLS/sfs-badpeer" --port "$P1" --munge-socket "$T/munge.sock" --mode $mode >/dev/null 2>&1 || { bad=1; diag "OSS kept a peer that sent $mode"; }
done
is "$bad" 0 "the MDS and an OSS drop every peer that sends a malformed frame"
like "$(cat "$T/mds.log")" "dropping '127.0.0.1:[0-9]+': malformed" "with a log line"
ok "the mounted client keeps working meanwhile" sh -c "echo still >'$A/alive' && [ \"\$(cat '$A/alive')\" = still ]"

# ---- a full OST gives ENOSPC ----
mkdir -p "$T/small"
mount -t tmpfs -o size=16m tmpfs "$T/small" && t_track_mount "$T/small"
sfs_oss 2 --dir "$T/small/ost" 2>/dev/null || true
ok "a third, small OST comes up" sfs_wait_osts "$A" 3
sfs setstripe -c 1 -i 2 "$A/full"
out=$(dd if=/dev/zero of="$A/full" bs=1M count=32 conv=notrunc,fsync 2>&1); rc=$?
like "$out" "No space left on device" "writing past a full OST fails with ENOSPC"
