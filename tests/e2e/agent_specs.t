#!/bin/bash
# stratus-node's cluster-init runner without a manager (`run-specs`): script
# and spec order, each script once (markers), a failure stops the spec with
# the contract's reason and keeps the log, a re-run runs only what failed or
# never ran, the environment scripts get (STRATUS_*, files/, `stratus-node
# config`), non-executable scripts, the script timeout; then the same runner
# inside a namespaced node made by the local provider.
export TMPDIR=/var/tmp
. "$(dirname "$0")/../lib.sh"
t_need_cmd tar bash

AGENT="$BIN/stratus-node"
P="$T/proj"
mkdir -p "$P/specs/default/cluster-init/scripts" "$P/specs/default/cluster-init/files" \
	"$P/specs/extra/cluster-init/scripts"
S="$P/specs/default/cluster-init/scripts"
cat >"$S/10-env.sh" <<'EOF'
#!/bin/bash
echo "10 $STRATUS_NODE_NAME $STRATUS_CLUSTER" >>"$ORDER"
cat "$STRATUS_SPEC_DIR/files/data.txt"
echo "role=$(stratus-node config slurm.role)"
echo "missing=$(stratus-node config no.such.key fallback)"
echo "cfg=$STRATUS_NODE_CONFIG"
echo "host=$(hostname)"
EOF
chmod +x "$S/10-env.sh"
echo "payload from files/" >"$P/specs/default/cluster-init/files/data.txt"
# not executable: runs through bash
printf 'echo 20 >>"$ORDER"\necho going to fail\nexit ${FAIL_CODE:-0}\n' >"$S/20-maybe-fail.sh"
printf '#!/bin/sh\necho 9 >>"$ORDER"\n' >"$S/9-last.sh"; chmod +x "$S/9-last.sh"
printf '#!/bin/sh\necho extra >>"$ORDER"\n' >"$P/specs/extra/cluster-init/scripts/01"; chmod +x "$P/specs/extra/cluster-init/scripts/01"
echo '{"name":"n-1","cluster":{"name":"democ","parameters":{}},"configuration":{"slurm.role":"scheduler"}}' >"$T/node.json"
export ORDER="$T/order"

plan 20

out=$(FAIL_CODE=3 "$AGENT" run-specs --state_dir "$T/st" --name n-1 --node_json "$T/node.json" \
	"$P/specs/default" "$P/specs/extra" 2>&1); rc=$?
is "$rc" 1 "a failing script makes run-specs exit 1"
like "$out" "cluster-init script default/20-maybe-fail.sh exited 3" "with the contract's reason"
is "$(tr '\n' ' ' <"$ORDER")" "10 n-1 democ 20 " "scripts run in lexical order and stop at the failure"
like "$(cat "$T/st/logs/proj/default/20-maybe-fail.sh.log")" "going to fail" "the failed script's output is in its own log"
log10=$(cat "$T/st/logs/proj/default/10-env.sh.log")
like "$log10" "payload from files/" "a script reaches files/ through STRATUS_SPEC_DIR"
like "$log10" "role=scheduler" "stratus-node config KEY reads the node's configuration"
like "$log10" "missing=fallback" "stratus-node config KEY DEFAULT falls back"
like "$log10" "cfg=$T/st/node.json" "STRATUS_NODE_CONFIG names the cache"
ok "a marker records the script that succeeded" test -f "$T/st/done/proj/default/10-env.sh"
nok "no marker for the one that failed" test -e "$T/st/done/proj/default/20-maybe-fail.sh"

: >"$ORDER"
ok "after the fix, run-specs succeeds" "$AGENT" run-specs --state_dir "$T/st" --name n-1 \
	--node_json "$T/node.json" "$P/specs/default" "$P/specs/extra"
is "$(tr '\n' ' ' <"$ORDER")" "20 9 extra " "only what failed or never ran runs again, specs in the order given"
: >"$ORDER"
"$AGENT" run-specs --state_dir "$T/st" --name n-1 "$P/specs/default" "$P/specs/extra" >/dev/null 2>&1
is "$(cat "$ORDER")" "" "a third run runs nothing: each script once"

is "$("$AGENT" config --state_dir "$T/st" cluster.name)" "democ" "config reads cluster.name from the document"
nok "config of a missing key without default fails" "$AGENT" config --state_dir "$T/st" no.such.key

mkdir -p "$T/slow/cluster-init/scripts"
printf '#!/bin/sh\nsleep 30\n' >"$T/slow/cluster-init/scripts/10-slow"; chmod +x "$T/slow/cluster-init/scripts/10-slow"
t0=$(date +%s)
out=$("$AGENT" run-specs --state_dir "$T/st2" --script_timeout 1s "$T/slow" 2>&1); rc=$?
is "$rc:$(( $(date +%s) - t0 < 10 ))" "1:1" "a script past --script_timeout is killed and counts as failed"
like "$out" "slow/10-slow exited 137" "its exit is 128+SIGKILL"

# The same runner inside a node made by the local provider.
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
	for i in 1 2 3; do skip "needs root and ip for a namespaced node"; done
	exit 0
fi
br="stb$$"; t_track_link "$br"
t_on_cleanup "'$TOOLS/nodectl' net-down '$br'"
x=$(( ($$ / 256) % 200 + 20 )); y=$(( ($$ + 128) % 256 ))
for try in 0 1 2 3 4 5 6 7; do
	net="10.$x.$(( (y + try) % 256 ))"
	"$TOOLS/nodectl" net-up "$br" "$net.1" 24 2>"$T/netup.err" && break
	grep -q overlaps "$T/netup.err" || break
done
echo "$net.11 an-$$" >"$T/hosts"
t_on_cleanup "'$TOOLS/nodectl' destroy --handle '$T/node.handle'"
ok "a node is made for the runner" "$TOOLS/nodectl" create --handle "$T/node.handle" --name "an-$$" \
	--ip "$net.11" --bridge "$br" --state-dir "$T/node" --hosts "$T/hosts"
: >"$ORDER"
ok "run-specs runs inside the node" "$TOOLS/nodectl" exec --handle "$T/node.handle" -- \
	env ORDER="$ORDER" "$AGENT" run-specs --state_dir "$T/node/agent" --name "an-$$" \
	--node_json "$T/node.json" "$P/specs/default" "$P/specs/extra"
like "$(cat "$T/node/agent/logs/proj/default/10-env.sh.log")" "host=an-$$" "scripts in the node see the node's hostname"
