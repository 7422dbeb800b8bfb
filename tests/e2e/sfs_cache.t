#!/bin/bash
# StratusFS client caching across two mounts of the same file system: names a
# mount knows to be missing (it made the directory and every name added since
# came through it) are answered without the MDS, and still:
#  - a name made on the other mount is seen as soon as this mount adds a name
#    to the directory itself (the MDS's name count gives the other one away),
#    after a listing of the directory, and in any case within entry_timeout (1 s);
#  - open(O_CREAT) of a name the other mount made meanwhile opens that file
#    (O_TRUNC cuts it), and O_CREAT|O_EXCL fails with EEXIST;
#  - entry_timeout=0 turns the local answers off.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sfs-lib.sh"

plan 17

sfs_munged munge
sfs_mds --stripe-count 1
sfs_oss 0
sfs_mount a
sfs_mount b
sfs_mount c entry_timeout=0
A=$T/a B=$T/b C=$T/c
ok "1 OST up" sfs_wait_osts "$A" 1


# ---- A made the directory: its missing names are answered by A itself ----
mkdir "$A/d"
l0=$(sfs_stat "$A" lookups_answered_missing_here)
for i in $(seq 1 50); do : >"$A/d/f$i"; done
l1=$(sfs_stat "$A" lookups_answered_missing_here)
ok "creates in a directory this mount made look their names up locally ($l0 -> $l1)" \
	test "$((l1 - l0))" -ge 25
is "$(ls "$B/d" | wc -l)" 50 "the other mount lists all 50 files"

# ---- a name made on B is seen on A once A adds a name itself ----
: >"$A/d/g1"            # A's knowledge is fresh now
echo from-b >"$B/d/x"   # B adds a name A does not know
: >"$A/d/g2"            # A's create finds the count one too far: A forgets what it knew
is "$(cat "$A/d/x" 2>&1)" from-b "A sees B's new file at once after its own next create"

# ---- ... and within entry_timeout without anything else ----
mkdir "$A/d5"
: >"$A/d5/g3"
echo later >"$B/d5/y"
sleep 1.2
is "$(cat "$A/d5/y" 2>&1)" later "A sees B's new file after entry_timeout (1 s)"

# ---- open(O_CREAT) of a name made on B meanwhile ----
mkdir "$A/d2"
: >"$A/d2/g5"
echo from-b >"$B/d2/app"
python3 - "$A/d2/app" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
os.write(fd, b"+a\n")
os.close(fd)
PY
diag "creates that opened an existing file so far: $(sfs_stat "$A" creates_that_opened_an_existing_file) (0 if the machine was too slow for A's knowledge to be fresh)"
is "$(cat "$B/d2/app")" "from-b
+a" "open(O_CREAT|O_APPEND) on A opens B's file, keeping its data"

: >"$A/d2/g6"
echo 0123456789 >"$B/d2/tr"
python3 - "$A/d2/tr" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"x\n")
os.close(fd)
PY
is "$(cat "$B/d2/tr")" x "open(O_CREAT|O_TRUNC) on A cuts B's file"

: >"$A/d2/g7"
: >"$B/d2/ex"
out=$(python3 - "$A/d2/ex" 2>&1 <<'PY'
import os, sys
try:
    os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    print("created")
except FileExistsError:
    print("EEXIST")
PY
)
is "$out" EEXIST "open(O_CREAT|O_EXCL) on A of B's new file fails with EEXIST"

# ---- removals and re-creation on the same mount ----
rm "$A/d/f1"
nok "a removed name is gone" test -e "$A/d/f1"
echo again >"$A/d/f1"
is "$(cat "$B/d/f1")" again "a name removed and made again is seen by the other mount"

# ---- a directory made on B is unknown to A: A asks the MDS ----
mkdir "$B/e"
l0=$(sfs_stat "$A" lookups_answered_missing_here)
for i in 1 2 3; do : >"$A/e/h$i"; done
l1=$(sfs_stat "$A" lookups_answered_missing_here)
is "$((l1 - l0))" 0 "in a directory another mount made, lookups go to the MDS"
echo by-b >"$B/e/k"
is "$(cat "$A/e/k" 2>&1)" by-b "and B's names there are seen at once"

# ---- a rename into the directory ----
mkdir "$A/d3"
: >"$A/d3/g8"
echo moved >"$B/e/mv"
mv "$B/e/mv" "$B/d3/mv"
: >"$A/d3/g9"
is "$(cat "$A/d3/mv" 2>&1)" moved "a name renamed into the directory on B is seen on A after A's next create"

# ---- after a listing ----
mkdir "$A/d4"
: >"$A/d4/g4"
echo listed >"$B/d4/z"
ls "$A/d4" >/dev/null
is "$(cat "$A/d4/z" 2>&1)" listed "A sees B's new file at once after listing the directory"

# ---- entry_timeout=0: never answered locally ----
mkdir "$C/n"
for i in 1 2 3; do : >"$C/n/f$i"; done
is "$(sfs_stat "$C" lookups_answered_missing_here)" 0 "with entry_timeout=0 no lookup is answered locally"
echo now >"$B/n/w"
is "$(cat "$C/n/w" 2>&1)" now "and B's new names are seen at once"

is "$(sfs_stat "$A" lookups_to_mds | grep -c '^[0-9][0-9]*$')" 1 "user.sfs.stats counts the lookups sent to the MDS"
