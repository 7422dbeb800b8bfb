#!/bin/bash
# sfs-oss and the page cache: by default large aligned writes and reads go
# between the disk and the OSS's buffer (O_DIRECT), so an object written and
# read in 1 MiB pieces never enters the OSS host's page cache; with
# --no-direct-io the same object is cached on the way in and on the way out.
# fincore counts the object file's cached pages.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sfs-lib.sh"

plan 9
sfs_munged munge
sfs_mds
sfs_oss 0
P1=$(t_free_port)
sfs_oss 1 --port "$P1" --no-direct-io
sfs_mount a
sfs_mount b
A=$T/a B=$T/b
ok "2 OSTs up, one with --no-direct-io" sfs_wait_osts "$A" 2
cached_idx=$(sfs osts "$A" | awk -v p=":$P1" 'substr($3, length($3) - length(p) + 1) == p { sub(":", "", $1); print $1 }')
like "$cached_idx" '^[0-9]+$' "the --no-direct-io OST is listed (index $cached_idx)"
direct_idx=$((1 - cached_idx))

# pages FILE: how many of FILE's pages are in the page cache
pages() { fincore --noheadings --output PAGES "$1" | tr -d ' '; }

head -c $((4 << 20)) /dev/urandom >"$T/src"
sfs setstripe -c 1 -i "$direct_idx" "$A/direct"
sfs setstripe -c 1 -i "$cached_idx" "$A/cached"
ok "4 MiB written to each OST and synced" sh -c "dd if='$T/src' of='$A/direct' bs=1M conv=fsync status=none &&
	dd if='$T/src' of='$A/cached' bs=1M conv=fsync status=none"
od=$(sfs_obj_path "$A" "$A/direct" 0) oc=$(sfs_obj_path "$A" "$A/cached" 0)
is "$(pages "$od")" 0 "written with O_DIRECT: none of the object is in the OSS's page cache"
ok "written with --no-direct-io: the object is in the page cache" test "$(pages "$oc")" -ge 1024

# Forget the cached object's pages, then read both files from the other
# mount (whose own cache has never seen them).
dd if="$oc" iflag=nocache count=0 status=none
ok "the cached object's pages are dropped" t_wait 5 "no pages cached" sh -c "[ \"\$(fincore --noheadings --output PAGES '$oc' | tr -d ' ')\" = 0 ]"
ok "both read back identical from the other mount" sh -c "cmp '$T/src' '$B/direct' && cmp '$T/src' '$B/cached'"
is "$(pages "$od")" 0 "read with O_DIRECT: still none of the object in the page cache"
ok "read with --no-direct-io: through the page cache" test "$(pages "$oc")" -ge 1024
