#!/bin/bash
# Failed nodes are retried by themselves with back-off: a cluster-init script
# that fails twice and then succeeds (it counts its runs in a file) brings its
# node to Ready with no one asking, each automatic retry an event with the
# failure's reason and the wait (the cluster's RetryDelay doubled each time);
# a script that always fails uses up the cluster's RetryMax and the node stays
# Failed, saying so; `stratus retry` by hand still works after the fix; and
# `stratus show_node` shows the timeline; a node that cannot be made is made
# again.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mgr_lib.sh"
mgr_need_nodes tar
plan 23

STATE=$(mktemp -d /var/tmp/stratus-mgr2-retry.XXXXXX)
C="r$$"
OUT="$STATE/out"
mkdir -p "$OUT"
t_on_cleanup 'mgr_cleanup "$STATE" "$C"'

# A fixed port, so that the CLI finds stratusd again after its restart below.
MGR_PORT_FIXED=$(t_free_port)
mgr_start "$STATE" --provider local || bail "stratusd did not start"
mgr_login || bail "cannot initialize the CLI"

proj="$T/proj"
mkdir -p "$proj/specs/flaky/cluster-init/scripts" "$proj/specs/broken/cluster-init/scripts"
printf '[project]\nname = retryproj\nversion = 1.0.0\n' >"$proj/project.ini"
cat >"$proj/specs/flaky/cluster-init/scripts/10-flaky.sh" <<SH
#!/bin/sh
# Fails on its first two runs on this node, then works.
f="$OUT/\$STRATUS_NODE_NAME.count"
n=\$(( \$(cat "\$f" 2>/dev/null || echo 0) + 1 ))
echo \$n >"\$f"
date +%s%N >>"$OUT/\$STRATUS_NODE_NAME.times"
if [ \$n -le 2 ]; then echo "run \$n: the mirror is not up yet"; exit 4; fi
echo "run \$n: installed"
SH
cat >"$proj/specs/broken/cluster-init/scripts/10-broken.sh" <<'SH'
#!/bin/sh
echo "needs-package-xyz is missing"
exit 5
SH
chmod +x "$proj"/specs/*/cluster-init/scripts/*.sh
(cd "$proj" && stratus project upload default >/dev/null) || bail "project upload failed"

# RetryDelay 1 s keeps the test short (the default is 5 s); the agents look
# for a retry twice a second.
cat >"$T/tmpl.txt" <<'TMPL'
[cluster retrytest]
RetryMax = 3
RetryDelay = 1
RetryDelayMax = 3
    [[node defaults]]
        [[[configuration]]]
        stratus.agent.heartbeat = 500ms
    [[nodearray flaky]]
        [[[cluster-init retryproj:flaky:1.0.0]]]
    [[nodearray broken]]
        [[[cluster-init retryproj:broken:1.0.0]]]
    [[nodearray plain]]
TMPL
stratus import_template -f "$T/tmpl.txt" >/dev/null && stratus create_cluster retrytest "$C" >/dev/null &&
	stratus start_cluster "$C" >/dev/null || bail "cannot create and start the cluster"

N="$C-flaky-1"
ok "add a node whose cluster-init fails twice" stratus add_node "$C" -t flaky -c 1
ok "it reaches Ready by itself" t_wait 60 "flaky Ready" mgr_is "$C" "$N" Ready
is "$(cat "$OUT/$N.count")" 3 "its script ran three times"
ev() { sqlite3 "$STATE/stratus.db" "SELECT message FROM events WHERE node = '$1' AND kind = 'retry' ORDER BY id"; }
is "$(ev "$N")" "automatic retry 1 of 3 in 1 s, after: cluster-init script flaky/10-flaky.sh exited 4
automatic retry 1 of 3: re-running cluster-init in place
automatic retry 2 of 3 in 2 s, after: cluster-init script flaky/10-flaky.sh exited 4
automatic retry 2 of 3: re-running cluster-init in place
Ready after 2 automatic retries" "each retry is an event with its reason and wait"
gaps=$(perl -ne 'chomp; push @t, $_ / 1e6; END { print join(" ", map { int($t[$_] - $t[$_-1]) } 1..$#t) }' "$OUT/$N.times")
diag "ms between the script's runs: $gaps"
like "$(echo "$gaps" | perl -ane 'print(($F[0] >= 1000 && $F[1] >= 2000 && $F[1] > $F[0]) ? "backoff" : "no")')" "^backoff$" \
	"the waits between runs grow: at least 1 s, then at least 2 s"
out=$(stratus show_node "$C" flaky-1)
diag "stratus show_node $C flaky-1:" "$out"
like "$out" "Node $N: Ready" "show_node takes the short name and shows the state"
like "$out" "retry +automatic retry 2 of 3 in 2 s" "and the retries in its timeline"
like "$out" "Preparing -> Failed: cluster-init script flaky/10-flaky.sh exited 4" "beside the failures"

# A node that cannot even be made (a file stands where its directory goes) is
# made again once the obstacle is gone.
P="$C-plain-1"
mkdir -p "$STATE/nodes" && echo obstacle >"$STATE/nodes/$P"
ok "add a node that cannot be made" stratus add_node "$C" -t plain -c 1
failed_making() { ev "$P" | grep -q "^automatic retry 1 of 3 in 1 s, after: cannot create '$STATE/nodes/$P'"; }
ok "its failure schedules a retry, with the reason" t_wait 30 "acquire failure" failed_making
rm -f "$STATE/nodes/$P"
ok "once the obstacle is gone it reaches Ready by itself" t_wait 60 "plain Ready" mgr_is "$C" "$P" Ready
like "$(ev "$P" | tr '\n' ' ')" "automatic retry [1-3] of 3: making the node again.*Ready after [1-3] automatic retr" \
	"by making the node again"

B="$C-broken-1"
ok "add a node whose cluster-init always fails" stratus add_node "$C" -t broken -c 1
has_no_retry_left() { ev "$B" | grep -q "no automatic retry left (3 of 3 made)"; }
ok "after RetryMax retries it says none is left" t_wait 60 "retries used up" has_no_retry_left
ok "and stays Failed" mgr_is "$C" "$B" Failed
is "$(ev "$B" | grep -c '^automatic retry [0-9] of 3 in')" 3 "three retries were scheduled"
like "$(ev "$B" | grep ' in [0-9]' | tr '\n' ' ')" "1 of 3 in 1 s.*2 of 3 in 2 s.*3 of 3 in 3 s" "with waits 1 s, 2 s, then the cap of 3 s"
like "$(stratus show_nodes "$C" --filter 'Name == "'$B'"')" "exited 5" "its reason is the script's failure"

# By hand, after the fix.
printf '#!/bin/sh\necho fixed\n' >"$proj/specs/broken/cluster-init/scripts/10-broken.sh"
chmod +x "$proj/specs/broken/cluster-init/scripts/10-broken.sh"
(cd "$proj" && stratus project upload default >/dev/null)
like "$(stratus retry "$C")" "Retrying 1 failed node\(s\): $B" "stratus retry still works by hand"
ok "and brings the node to Ready" t_wait 60 "broken Ready" mgr_is "$C" "$B" Ready
is "$(mgr_curl GET "/clusters/$C/nodes/$B" -H "Authorization: Bearer $(mgr_token)"; perl -MJSON::PP -0ne 'print JSON::PP->new->canonical->encode(decode_json($_)->{retry})' "$T/body")" \
	"200null" "a Ready node has no retry series left"

# A node that vanished while stratusd was down is Failed at its restart, and
# made again by itself.
holder=$(mgr_curl GET "/clusters/$C/nodes/$P" -H "Authorization: Bearer $(mgr_token)" >/dev/null;
	perl -MJSON::PP -0ne 'print decode_json($_)->{holder_pid}' "$T/body")
kill -9 "$MGR_PID"; wait "$MGR_PID" 2>/dev/null
kill -9 "$holder"
mgr_start "$STATE" --provider local || bail "stratusd did not start again"
vanished_retry() { ev "$P" | grep -q "after: the node vanished while stratusd was down"; }
ok "after the restart the vanished node gets an automatic retry" t_wait 30 "vanished retry" vanished_retry
ok "and is Ready again by itself" t_wait 60 "plain Ready again" mgr_is "$C" "$P" Ready
