#!/bin/bash
# Parallel node work: `add_node -c 4` makes the four nodes at the same time
# (stratusd's provider work runs on a pool of threads, one job per node at a
# time), so every node's provider work starts before the first one ends; the
# time from add_node to four Ready nodes is printed (the figure in
# docs/user-guide.md comes from here).  A node's jobs still run in order: a
# node terminated while it is being made ends Off, with nothing left behind.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mgr_lib.sh"
mgr_need_nodes
plan 9

STATE=$(mktemp -d /var/tmp/stratus-mgr2-par.XXXXXX)
C="p$$"
cleanup_par() {
	[ -n "${MGR2_KEEP_DB:-}" ] && sqlite3 "$STATE/stratus.db" ".backup $MGR2_KEEP_DB"
	mgr_cleanup "$STATE" "$C"
}
t_on_cleanup cleanup_par

mgr_start "$STATE" --provider local ${MGR2_WORKERS:+--workers $MGR2_WORKERS} || bail "stratusd did not start"
mgr_login || bail "cannot initialize the CLI"
cat >"$T/tmpl.txt" <<'TMPL'
[cluster partest]
    [[node head]]
    [[nodearray execute]]
    MaxCount = 16
TMPL
stratus import_template -f "$T/tmpl.txt" >/dev/null && stratus create_cluster partest "$C" >/dev/null ||
	bail "cannot create the cluster"
ok "start_cluster" stratus start_cluster "$C"
ok "the head node reaches Ready" t_wait 60 "head Ready" mgr_is "$C" "$C-head" Ready

t0=$(date +%s%N)
ok "add_node -c 4" stratus add_node "$C" -t execute -c 4
ok "the four nodes reach Ready" t_wait 120 "4 Ready" mgr_count_is "$C" Ready 4 'Template == "execute"'
t1=$(date +%s%N)
# The manager's own clock: from the add_node event to the last of the four Ready events.
srv=$(sqlite3 "$STATE/stratus.db" "SELECT (SELECT MAX(time) FROM events WHERE cluster = '$C' AND kind = 'state' AND node LIKE '$C-execute-%' AND message LIKE '%-> Ready%') - (SELECT MIN(time) FROM events WHERE cluster = '$C' AND kind = 'scale' AND message LIKE 'add_node: 4 %')")
diag "add_node -c 4 to four Ready nodes: $srv ms by the manager's events, $(( (t1 - t0) / 1000000 )) ms seen by the CLI polling"

# Each provider event says how long the node took: its start is its time minus that.
spans=$(sqlite3 "$STATE/stratus.db" "SELECT node, time, message FROM events WHERE cluster = '$C' AND kind = 'provider' AND node LIKE '$C-execute-%' AND message LIKE 'node made%'" |
	perl -ne 'if (/^([^|]+)\|(\d+)\|.* in (\d+) ms/) { print "$1 ", $2 - $3, " $2\n" }')
diag "provider work per node (name start end, ms):" "$spans"
overlap=$(echo "$spans" | perl -ne '($n, $s, $e) = split; push @s, $s; push @e, $e;
	END { @s == 4 or print("only ", scalar(@s), " nodes\n"), exit; ($ms) = sort { $b <=> $a } @s; ($me) = sort { $a <=> $b } @e;
	      print $ms < $me ? "yes" : "no: last start $ms, first end $me" }')
is "$overlap" "yes" "the four nodes were made at the same time (every start before the first end)"

# Per-node order: terminate a node while it is still being made.
ok "add_node -c 2 more" stratus add_node "$C" -t execute -c 2
ok "terminate one of them at once" stratus terminate_node "$C" "$C-execute-6"
six_off() { mgr_is "$C" "$C-execute-6" Off && mgr_is "$C" "$C-execute-5" Ready; }
ok "it ends Off and its sibling Ready" t_wait 60 "6 Off, 5 Ready" six_off
is "$(ip netns list | awk '{print $1}' | grep -c "^st-$C-execute-6-")" 0 "nothing of it is left (no namespace)"
