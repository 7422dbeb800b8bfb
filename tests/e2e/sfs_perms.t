#!/bin/bash
# StratusFS permissions for a user other than root, on a mount shared by
# both (allow_other).  sfs-mount and the MDS check permissions themselves
# (the kernel does not: no default_permissions), also where sfs-mount
# answers from its lease cache what root looked up just before:
#  - a directory root keeps 0700: nobody can neither list it nor stat nor
#    open a file in it, though root just did (names cached by root's walk);
#  - nobody cannot create in, or remove from, a root-owned 0755 directory;
#  - in a 1777 directory nobody creates and removes its own files, but not
#    root's (the sticky bit);
#  - nobody cannot read a 0600 file, nor write a 0644 one; access(2) agrees;
#  - nobody cannot chmod root's file; a 0700 directory becomes searchable
#    when made 0755.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sfs-lib.sh"

plan 19

sfs_munged munge
sfs_mds
sfs_oss 0
sfs_mount a
A=$T/a
ok "1 OST up" sfs_wait_osts "$A" 1
# as_nobody CMD...: run as uid/gid 65534 with no other groups.
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
chmod 711 "$T"   # nobody must reach the mount point
chmod 755 "$A"

# ---- a private directory ----
mkdir -m 700 "$A/private"
echo secret >"$A/private/f"
chmod 644 "$A/private/f"
cat "$A/private/f" >/dev/null; stat "$A/private/f" >/dev/null   # root's walk, just before
nok "nobody cannot list root's 0700 directory" as_nobody ls "$A/private"
nok "nobody cannot stat a file in it" as_nobody stat "$A/private/f"
nok "nobody cannot read a file in it" as_nobody cat "$A/private/f"
sleep 1.2   # past the kernel's caches too
nok "nor a second later" as_nobody stat "$A/private/f"

# ---- a root-owned 0755 directory ----
mkdir -m 755 "$A/pub"
echo hello >"$A/pub/r"
chmod 644 "$A/pub/r"
stat "$A/pub/r" >/dev/null
is "$(as_nobody cat "$A/pub/r")" hello "nobody reads root's 0644 file"
nok "nobody cannot create in root's 0755 directory" as_nobody touch "$A/pub/new"
nok "nobody cannot remove root's file from it" as_nobody rm -f "$A/pub/r"
ok "root's file is still there" test -e "$A/pub/r"
nok "nobody cannot write root's 0644 file" as_nobody sh -c "echo x >>'$A/pub/r'"
echo private >"$A/pub/p600"; chmod 600 "$A/pub/p600"
nok "nobody cannot read root's 0600 file" as_nobody cat "$A/pub/p600"
is "$(as_nobody sh -c 'for t in "-r $1" "-w $1" "-r $2"; do if test $t; then printf y; else printf n; fi; done' - "$A/pub/r" "$A/pub/p600")" \
	"ynn" "access(2) as nobody: r of 0644 yes, w of 0644 no, r of 0600 no"
nok "nobody cannot chmod root's file" as_nobody chmod 666 "$A/pub/r"

# ---- a sticky, world-writable directory ----
mkdir -m 1777 "$A/tmp"
echo mine >"$A/tmp/rootfile"
ok "nobody creates a file in the 1777 directory" as_nobody sh -c "echo n >'$A/tmp/nfile'"
is "$(stat -c %u "$A/tmp/nfile")" 65534 "owned by nobody"
nok "nobody cannot remove root's file there (sticky)" as_nobody rm -f "$A/tmp/rootfile"
ok "nobody removes its own file there" as_nobody rm "$A/tmp/nfile"
ok "root's file is still there" test -e "$A/tmp/rootfile"

# ---- permissions that change ----
chmod 755 "$A/private"
sleep 1.2
is "$(as_nobody cat "$A/private/f")" secret "the directory made 0755: nobody reads the file"
