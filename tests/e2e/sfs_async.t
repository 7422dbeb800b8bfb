#!/bin/bash
# StratusFS asynchronous creates and removes: under a directory lease a mount
# answers creates of names it knows to be missing, and removes of files it
# knows, at once, and sends them to the MDS behind the answer.  Checked:
#  - creates and removes were answered that way (user.sfs.stats);
#  - a file written right after its asynchronous create holds the data, seen
#    from another mount, with a layout (its objects on the OST);
#  - another mount listing the directory right after 300 asynchronous creates
#    sees all 300 (the recall makes the holder's requests land first), and
#    after 300 asynchronous removes sees none;
#  - O_EXCL on a name that exists fails, as ever;
#  - a write-only file made that way is closed without a FLUSH: another mount
#    reads all of it at once, and one held open across the other mount's
#    recall shows what was written before it, and all of it after the close;
#  - fsync of the directory, then kill -9 of the MDS: every file is there
#    after the restart;
#  - a close does not wait for the MDS to answer the file's create;
#  - a create the MDS refuses after the mount answered it: the write or the
#    close fails, the name goes away, the refusal is logged;
#  - async=false answers nothing itself.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sfs-lib.sh"

plan 27

MPORT=$(t_free_port)
sfs_munged munge
sfs_mds --port "$MPORT" --lease-cooldown 300ms
sfs_oss 0
sfs_mount a
sfs_mount b
A=$T/a B=$T/b
ok "1 OST up" sfs_wait_osts "$A" 1

mkdir "$A/d"
c0=$(sfs_stat "$A" async_creates)
for i in $(seq 1 300); do : >"$A/d/f$i"; done
c1=$(sfs_stat "$A" async_creates)
ok "A answered its creates itself ($c0 -> $c1 of 300)" test "$((c1 - c0))" -ge 250
is "$(ls "$B/d" | wc -l)" 300 "B lists all 300 files at once"

echo hello-async >"$A/d/w"
is "$(cat "$B/d/w")" hello-async "a file written right after its asynchronous create reads back on B"
ok "its object is on the OST" sh -c "sfs getstripe '$A/d/w' | grep -qP '^\s+0\s'"
is "$(stat -c %s "$A/d/w")" 12 "its size on A"

r0=$(sfs_stat "$A" async_removes)
sleep 0.5   # B's listing recalled A's lease: the cool-down passes, A leases again
stat "$A/d" >/dev/null
ls "$A/d" >/dev/null
for i in $(seq 1 300); do stat "$A/d/f$i" >/dev/null; done
for i in $(seq 1 300); do rm "$A/d/f$i"; done
r1=$(sfs_stat "$A" async_removes)
ok "A answered its removes itself ($r0 -> $r1 of 300)" test "$((r1 - r0))" -ge 250
is "$(ls "$B/d" | wc -l)" 1 "B lists only w after the 300 removes"

is "$(python3 -c 'import os,sys
try:
    os.open(sys.argv[1], os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644); print("created")
except FileExistsError: print("EEXIST")' "$A/d/w")" EEXIST "O_EXCL on an existing name fails"

# ---- write-only files made asynchronously: their close sends no FLUSH ----
# What the FLUSH would do (wait for the write-behind, tell the MDS the size)
# A does when the lease goes: B reads all of it at once.
# The mount knows a name is missing for 1 s after the MDS last said so: the
# create that takes the lease and the one under test come from one process,
# right after each other, so that a busy machine does not stretch the gap.
mkdir "$A/n"
head -c 100000 /dev/urandom >"$T/n.data"
n0=$(sfs_stat "$A" noflush_opens)
python3 - "$T/n.data" "$A/n/f" <<'PY'
import os, sys
data = open(sys.argv[1], "rb").read()
os.close(os.open(os.path.join(os.path.dirname(sys.argv[2]), "first"), os.O_CREAT | os.O_WRONLY, 0o644))  # takes the lease
fd = os.open(sys.argv[2], os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, data)
os.close(fd)
PY
n1=$(sfs_stat "$A" noflush_opens)
ok "A answered the write-only create with no flush at close ($n0 -> $n1)" test "$((n1 - n0))" -ge 1
ok "B reads every byte of it at once" cmp "$T/n.data" "$B/n/f"
# A file still open when the lease is recalled: what it holds is told then,
# and its later writes go through at once (its close will not tell A).
sleep 0.5 # B's lookup recalled A's lease: the cool-down passes
python3 - "$A/n/g" "$T/nf" <<'PY' &
import os, sys, time
path, flag = sys.argv[1], sys.argv[2]
os.close(os.open(os.path.join(os.path.dirname(path), "again"), os.O_CREAT | os.O_WRONLY, 0o644))  # takes the lease again
fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"a" * 1000)
open(flag + ".one", "w").close()
while not os.path.exists(flag + ".looked"):
    time.sleep(0.05)
os.write(fd, b"b" * 1000)
os.close(fd)
open(flag + ".closed", "w").close()
PY
GPID=$!
t_wait 10 "A wrote g" test -e "$T/nf.one"
n2=$(sfs_stat "$A" noflush_opens)
ok "g too was opened with no flush at close ($n1 -> $n2)" test "$((n2 - n1))" -ge 1
is "$(stat -c %s "$B/n/g")" 1000 "B sees the 1000 bytes A wrote to the file it holds open"
touch "$T/nf.looked"
t_wait 10 "A closed g" test -e "$T/nf.closed"
is "$(cat "$B/n/g" | wc -c)" 2000 "B reads the 2000 bytes A wrote, right after A closed it"
ok "A's writes after the recall went through ($(sfs_stat "$A" noflush_writes_through) of them)" \
	test "$(sfs_stat "$A" noflush_writes_through)" -ge 1
wait "$GPID"

# ---- a file made asynchronously, open, removed by the other mount ----
# The MDS was never told of A's open (no OPEN with the create): A tells it
# when B's remove recalls A's lease, so the file lives until A closes it.
mkdir "$A/k"
: >"$A/k/first"
objs() { find "$T/ost0" -type f | wc -l; }
python3 - "$A/k/keep" "$T/flag" <<'PY' &
import os, sys, time
path, flag = sys.argv[1], sys.argv[2]
data = os.urandom(1 << 20)
fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, data)
os.fsync(fd)
open(flag + ".written", "w").close()
while not os.path.exists(flag + ".removed"):
    time.sleep(0.05)
os.lseek(fd, 0, 0)
back = b""
while len(back) < len(data):
    chunk = os.read(fd, len(data) - len(back))
    if not chunk:
        break
    back += chunk
os.write(fd, b"more")
os.close(fd)
open(flag + (".same" if back == data else ".differs"), "w").close()
PY
KPID=$!
t_wait 10 "A wrote keep" test -e "$T/flag.written"
before=$(objs)
rm "$B/k/keep"
sleep 2.5   # an object the MDS thinks unused is destroyed within a heartbeat (1 s)
touch "$T/flag.removed"
wait "$KPID"
ok "A read back what it wrote to the open file B removed" test -e "$T/flag.same"
t_wait 10 "the object is destroyed" sh -c "[ \$(find '$T/ost0' -type f | wc -l) -lt $before ]"
ok "the removed file's object is destroyed once A closed it ($before -> $(objs) object files)" test "$(objs)" -lt "$before"

# ---- fsync of the directory makes them durable ----
mkdir "$A/e"
for i in $(seq 1 100); do echo "$i" >"$A/e/g$i"; done
python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd); os.close(fd)' "$A/e"
t_stop "$MDS_PID" KILL
rm -f "$T/mds.port"
sfs_mds --port "$MPORT" --lease-cooldown 300ms
ok "the OST is back after the MDS restart" sfs_wait_osts "$B" 1
is "$(ls "$B/e" | wc -l)" 100 "all 100 files made before the fsync are there after kill -9 of the MDS"
is "$(cat "$B/e/g77")" 77 "and hold their data"

# ---- a close does not wait for the MDS's answer to the create ----
# A release waits for the file's writes only.  With the MDS stopped, more
# empty files than the mount has worker threads (32) are made and closed;
# had each release held its thread until the MDS answered, the mount would
# stall at the 33rd.  (Within a second of the MDS's last answer: after that
# the mount no longer knows which names are missing, and asks the MDS.)
mkdir "$A/s"
a0=$(sfs_stat "$A" async_creates)
timeout 30 python3 - "$A/s" "$MDS_PID" <<'PY'
import os, signal, sys
d, mds = sys.argv[1], int(sys.argv[2])
def make(name):
    os.close(os.open(os.path.join(d, name), os.O_CREAT | os.O_WRONLY, 0o644))
for i in range(3):      # A leases s and reserves inode numbers again (after the restart)
    make("first%d" % i)
os.kill(mds, signal.SIGSTOP)
for i in range(100):
    make("z%d" % i)
PY
rc=$?
kill -CONT "$MDS_PID"
is "$rc" 0 "with the MDS stopped, A makes and closes 100 files"
ok "A answered those creates itself ($a0 -> $(sfs_stat "$A" async_creates))" test "$(sfs_stat "$A" async_creates)" -ge "$((a0 + 100))"
is "$(ls "$B/s" | wc -l)" 103 "B lists all of them once the MDS goes on"

# ---- a create the MDS refuses ----
t_stop "$MDS_PID"
rm -f "$T/mds.port"
sfs_mds --port "$MPORT" --lease-cooldown 300ms --fault-refuse-async-create
sfs_wait_osts "$A" 1
mkdir "$A/x"
out=$(python3 - "$A/x/bad" 2>&1 <<'PY'
import os, sys
# The first create takes the lease on x; "bad" right after it is answered by A.
os.close(os.open(os.path.join(os.path.dirname(sys.argv[1]), "first"), os.O_CREAT | os.O_WRONLY, 0o644))
try:
    fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, b"x" * 4096)
    os.close(fd)
    print("no error")
except OSError as e:
    print("error", e.errno)
PY
)
like "$out" "^error" "writing or closing a file whose create the MDS refused fails ($out)"
ok "the refusal is logged" grep -q "refused the create of 'bad'" "$T/mount-a.log"
t_wait 5 "the name is gone" test ! -e "$A/x/bad"
ok "the refused name is gone on A" test ! -e "$A/x/bad"

# ---- async=false ----
sfs_mount c async=false
mkdir "$T/c/y"
for i in 1 2 3; do : >"$T/c/y/h$i"; done
is "$(sfs_stat "$T/c" async_creates)" 0 "an async=false mount answers no create itself"
