#!/bin/bash
# The manager with real namespaced nodes (local provider, stratus-node agents,
# sshd): a head node and a node array reach Ready; every node resolves and
# ssh-es to every other; filters select and terminate nodes and their
# namespaces go; a failing cluster-init leaves its node Failed with the log
# shown and retry after fixing the project brings it to Ready; the head node
# is not terminated without --force; a node's token is good for its own node
# only; stratusd killed with -9 and started again keeps running nodes, marks
# vanished ones and orphans nothing; terminate_cluster leaves no process,
# mount, namespace, veth or bridge behind.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mgr_lib.sh"
mgr_need_nodes ssh ssh-keygen tar
plan 42

# Nodes replace /tmp with their own: the state directory must live elsewhere.
STATE=$(mktemp -d /var/tmp/stratus-mgr-nodes.XXXXXX)
C="t$$"
OUT="$STATE/out"
# Node data (stratus.data_dir) below --node-data-dir, and one array's outside it.
DATA="$STATE/data" OUTSIDE="$STATE/outside"
mkdir -p "$OUT" "$DATA" "$OUTSIDE"
t_on_cleanup 'mgr_cleanup "$STATE" "$C"'

MGR_PORT_FIXED=$(t_free_port)
# Failed nodes stay Failed here (retry by hand); mgr2_retry.t tests the automatic retries.
mgr_start "$STATE" --provider local --retry-max 0 --node-data-dir "$DATA" || bail "stratusd did not start"
mgr_login || bail "cannot initialize the CLI"

# The test project: a spec every node runs, and one that fails until fixed.
proj="$T/proj"
mkdir -p "$proj/specs/base/cluster-init/scripts" "$proj/specs/base/cluster-init/files" \
	"$proj/specs/broken/cluster-init/scripts"
printf '[project]\nname = testproj\nversion = 1.0.0\n' >"$proj/project.ini"
cat >"$proj/specs/base/cluster-init/scripts/10-role.sh" <<SH
#!/bin/sh
set -e
echo "role of \$STRATUS_NODE_NAME: \$(stratus-node config test.role)"
stratus-node config test.role > "$OUT/\$STRATUS_NODE_NAME.role"
cp "\$STRATUS_SPEC_DIR/files/hello.txt" "$OUT/\$STRATUS_NODE_NAME.hello"
d=\$(stratus-node config stratus.data_dir)
mkdir -p "\$d/nodes/\$STRATUS_NODE_NAME" "\$d/clusters/\$STRATUS_CLUSTER"
echo "\$STRATUS_NODE_NAME" >"\$d/nodes/\$STRATUS_NODE_NAME/marker"
echo "\$STRATUS_NODE_NAME" >"\$d/clusters/\$STRATUS_CLUSTER/marker.\$STRATUS_NODE_NAME"
SH
echo "hello from files/" >"$proj/specs/base/cluster-init/files/hello.txt"
cat >"$proj/specs/broken/cluster-init/scripts/10-fail.sh" <<'SH'
#!/bin/sh
echo "this install cannot work yet: missing-dependency-xyz"
exit 3
SH
chmod +x "$proj"/specs/*/cluster-init/scripts/*.sh
(cd "$proj" && stratus project upload default >/dev/null) || bail "project upload failed"

cat >"$T/tmpl.txt" <<TMPL
[cluster nodetest]
    [[node defaults]]
        [[[configuration]]]
        stratus.data_dir = $DATA
        [[[cluster-init testproj:base:1.0.0]]]
    [[node head]]
        [[[configuration]]]
        test.role = head
    [[nodearray execute]]
    MaxCount = 8
        [[[configuration]]]
        test.role = execute
    [[nodearray broken]]
        [[[configuration]]]
        test.role = broken
        stratus.data_dir = $OUTSIDE
        [[[cluster-init testproj:broken:1.0.0]]]
TMPL
stratus import_template -f "$T/tmpl.txt" >/dev/null && stratus create_cluster nodetest "$C" >/dev/null ||
	bail "cannot create the cluster"

ok "start_cluster" stratus start_cluster "$C"
ok "the head node reaches Ready" t_wait 90 "head Ready" mgr_is "$C" "$C-head" Ready
ok "add_node -c 3" stratus add_node "$C" -t execute -c 3
ok "all three execute nodes reach Ready" t_wait 120 "3 Ready" mgr_count_is "$C" Ready 3 'Template == "execute"'
is "$(cat "$OUT/$C-head.role" "$OUT/$C-execute-2.role")" "head
execute" "cluster-init scripts read their node's configuration"
is "$(cat "$OUT/$C-execute-1.hello")" "hello from files/" "and reach their spec's files/"
names=$(stratus show_nodes "$C" --filter 'template=="execute"' --format json |
	perl -MJSON::PP -0ne 'print join(" ", sort map { $_->{name} } @{decode_json($_)})')
is "$names" "$C-execute-1 $C-execute-2 $C-execute-3" "show_nodes --filter 'template==\"execute\"' lists exactly those three"

# Every node resolves and ssh-es to every other, with the cluster's key.
all="$C-head $C-execute-1 $C-execute-2 $C-execute-3"
key="$STATE/clusters/$C/ssh/id_ed25519"
bad=""
for a in $all; do
	got=$(stratus ssh "$C" "$a" "for b in $all; do ssh -i $key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR root@\$b hostname; done" 2>&1)
	[ "$(echo $got)" = "$all" ] || bad="$bad [$a: $got]"
done
is "$bad" "" "every node resolves and ssh-es to every other (16 pairs)"
like "$(stratus ssh "$C" execute-2 hostname)" "^$C-execute-2$" "stratus ssh takes the short node name too"

# The head node is not an array node: terminating it needs --force.
out=$(stratus terminate_node "$C" "$C-head" 2>&1)
is $? 1 "terminate_node of the head node without --force fails"
like "$out" "not in a node array.*--force" "and says why and what to do"
out=$(stratus terminate_node "$C" --filter 'Template == "head"' 2>&1)
like "$out" "refusing" "through a filter too"
ok "the head node is still Ready" mgr_is "$C" "$C-head" Ready

# A node's token is good only for its own node.
ntok=$(sed -n 's/^token = //p' "$STATE/nodes/$C-head/agent.conf")
NT=(-H "Authorization: Bearer $ntok")
mgr_curl GET /node "${NT[@]}" >/dev/null
is "$(perl -MJSON::PP -0ne 'print decode_json($_)->{name}' "$T/body")" "$C-head" "a node's token reads its own node"
is "$(mgr_curl GET "/clusters/$C/nodes/$C-execute-1" "${NT[@]}")" 403 "a node's token cannot read another node"
is "$(mgr_curl POST "/clusters/$C/nodes/terminate" "${NT[@]}" -d '{"nodes":["'$C-execute-1'"]}')" 403 \
	"a node's token cannot terminate another node"
is "$(mgr_curl POST /node/state "${NT[@]}" -d '{"state":"Off"}')" 409 "a node cannot report a state that is not its own to report (409)"
is "$(mgr_curl POST /node/state "${NT[@]}" -d '{"state":"Ready"}')" 200 "it can report Ready again (agent restart)"

# A failing cluster-init, then the fix and retry.
ok "add_node of the broken array" stratus add_node "$C" -t broken -c 1
ok "the broken node ends Failed" t_wait 90 "broken Failed" mgr_is "$C" "$C-broken-1" Failed
out=$(stratus show_cluster "$C" -l)
like "$out" "cluster-init script broken/10-fail.sh exited 3" "show_cluster -l shows the reason"
like "$out" "missing-dependency-xyz" "and the failing script's log"
printf '#!/bin/sh\necho fixed\nexit 0\n' >"$proj/specs/broken/cluster-init/scripts/10-fail.sh"
(cd "$proj" && stratus project upload default >/dev/null)
like "$(stratus retry "$C")" "Retrying 1 failed node\(s\): $C-broken-1" "retry picks the Failed node"
ok "after the fix, retry brings it to Ready" t_wait 90 "broken Ready" mgr_is "$C" "$C-broken-1" Ready

# Terminate the execute nodes through a filter: their namespaces go.
ns_before=$(ip netns list | awk '{print $1}' | grep -c "^st-$C-execute-")
is "$ns_before" 3 "each execute node has its network namespace"
like "$(stratus terminate_node "$C" --filter 'template=="execute"')" "Terminating 3 node" "terminate_node --filter terminates the three"
ok "they reach Off" t_wait 60 "3 Off" mgr_count_is "$C" Off 3 'Template == "execute"'
is "$(ip netns list | awk '{print $1}' | grep -c "^st-$C-execute-")" 0 "and their namespaces are gone"

# kill -9 stratusd while nodes run; make one node vanish meanwhile; start again.
holder=$(stratus show_nodes "$C" --format json >/dev/null; mgr_curl GET "/clusters/$C/nodes/$C-broken-1" -H "Authorization: Bearer $(mgr_token)" >/dev/null;
	perl -MJSON::PP -0ne 'print decode_json($_)->{holder_pid}' "$T/body")
kill -9 "$MGR_PID"; wait "$MGR_PID" 2>/dev/null
kill -9 "$holder"
mgr_start "$STATE" --provider local --retry-max 0 --node-data-dir "$DATA" || bail "stratusd did not start again"
ok "after the restart the head node is still Ready" mgr_is "$C" "$C-head" Ready
ok "the node whose holder died is Failed" mgr_is "$C" "$C-broken-1" Failed
like "$(stratus show_nodes "$C")" "vanished while stratusd was down" "with the reason"
is "$(ip netns list | awk '{print $1}' | grep -c "^st-$C-broken-")" 0 "and nothing of it is left (namespace removed)"
restart_ms=$(( $(date +%s%N) / 1000000 ))
head_heartbeat() {
	mgr_curl GET "/clusters/$C/nodes/$C-head" -H "Authorization: Bearer $(mgr_token)" >/dev/null &&
	[ "$(perl -MJSON::PP -0ne 'print decode_json($_)->{last_heartbeat}' "$T/body")" -gt "$restart_ms" ]
}
ok "the head node's agent reaches the new stratusd (a heartbeat after the restart)" t_wait 30 "heartbeat" head_heartbeat

# terminate_cluster leaves nothing behind.
veths=$(sqlite3 "$STATE/stratus.db" "SELECT veth FROM nodes WHERE veth <> ''")
pids=$(sqlite3 "$STATE/stratus.db" "SELECT holder_pid FROM nodes WHERE holder_pid > 0")
ok "terminate_cluster" stratus terminate_cluster "$C"
ok "the cluster ends Off" t_wait 60 "cluster Off" sh -c "stratus show_cluster | grep -Eq '^$C +nodetest +Off'"
left=""
# A process that is gone may linger as a zombie of init (no systemd here): that counts as gone.
for p in $pids; do st=$(ps -o stat= -p "$p" 2>/dev/null); [ -n "$st" ] && [ "${st#Z}" = "$st" ] && left="$left pid:$p"; done
for v in $veths; do ip link show "$v" >/dev/null 2>&1 && left="$left veth:$v"; done
for ns in $(ip netns list | awk '{print $1}' | grep "^st-$C-"); do left="$left netns:$ns"; done
grep -q "$STATE" /proc/mounts && left="$left mounts"
ip -o link show type bridge | grep -q "sb$(sqlite3 "$STATE/stratus.db" "SELECT value FROM meta WHERE key='instance'")-" && left="$left bridge"
is "$left" "" "no process, veth, namespace, mount or bridge is left"

# delete_cluster removes what the nodes left: their folders in the state
# directory, and their data below --node-data-dir, never a path outside it.
ok "the nodes wrote data below their stratus.data_dir" \
	test -e "$DATA/nodes/$C-head/marker" -a -e "$DATA/clusters/$C/marker.$C-head" -a -d "$STATE/nodes/$C-head"
ok "the broken node wrote its data outside --node-data-dir" test -e "$OUTSIDE/nodes/$C-broken-1/marker"
mkdir -p "$STATE/victim" && echo keep >"$STATE/victim/keep"
rm -rf "$DATA/nodes/$C-execute-3" && ln -s "$STATE/victim" "$DATA/nodes/$C-execute-3"
ok "delete_cluster" stratus delete_cluster "$C"
left=""
for n in head execute-1 execute-2 execute-3 broken-1; do [ -e "$STATE/nodes/$C-$n" ] && left="$left state/nodes/$C-$n"; done
for n in head execute-1 execute-2; do [ -e "$DATA/nodes/$C-$n" ] && left="$left data/nodes/$C-$n"; done
for d in "$DATA/clusters/$C" "$STATE/clusters/$C"; do [ -e "$d" ] && left="$left $d"; done
is "$left" "" "the nodes' folders and their data below --node-data-dir are gone"
ok "data outside --node-data-dir is kept" test -e "$OUTSIDE/nodes/$C-broken-1/marker" -a -e "$OUTSIDE/clusters/$C/marker.$C-broken-1"
ok "a symlink in the data folder is not followed out of it" test -e "$STATE/victim/keep"
