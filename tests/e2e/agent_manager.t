#!/bin/bash
# stratus-node against a real stratusd, through the agent <-> manager contract:
# a cluster of a head node and one execute node made by the local provider;
# the agent fetches its node, downloads its specs, runs them, uploads each
# script's log, reports Ready or Failed with the contract's reason, sends
# heartbeats, answers `config` and `search` for scripts, and re-runs only what
# failed when the manager retries the node after the project is fixed.
export TMPDIR=/var/tmp
. "$(dirname "$0")/../lib.sh"
t_need_root
t_need_cmd ip sshd ssh-keygen curl tar perl
[ -x "$BIN/stratusd" ] || skip_all "stratusd is not built (branch mgr not merged)"

# jpath PATH: a value out of the JSON on stdin ("nodes.0.state"); objects as JSON.
jpath() {
	perl -MJSON::PP -e '$d = decode_json(join("", <STDIN>));
		for $k (split /\./, $ARGV[0]) { $d = ref($d) eq "ARRAY" ? $d->[$k] : $d->{$k} }
		print ref($d) ? JSON::PP->new->canonical->encode($d) : (defined $d ? $d : ""), "\n"' "$1"
}
# jscript NODEJSON SPEC SCRIPT FIELD: a field of one script's record in a node's detail.
jscript() {
	perl -MJSON::PP -e '$d = decode_json(join("", <STDIN>));
		for (@{$d->{scripts}}) { print $_->{$ARGV[2]}, "\n" if $_->{spec} eq $ARGV[0] && $_->{script} eq $ARGV[1] }' \
		"$1" "$2" "$3"
}

S="$T/state"
mkdir -p "$S"
echo "pw-$$-$RANDOM" >"$T/pw"
"$BIN/stratusd" --state-dir "$S" --init-admin admin --password-file "$T/pw" >/dev/null 2>&1 ||
	bail "stratusd --init-admin failed"

# A /24 for the manager's cluster networks that nobody routes yet.
x=$(( ($$ / 256) % 200 + 20 )); y=$(( ($$ + 64) % 256 ))
for try in 0 1 2 3 4 5 6 7; do
	net="10.$x.$(( (y + try) % 256 ))"
	ip -4 route show | grep -q "^$net\." || break
done
t_start stratusd "$BIN/stratusd" --state-dir "$S" --port 0 --port-file "$T/port" --network "$net.0/24" --retry-max 0 \
	--log-level debug
STRATUSD=$T_PID
plan 23
ok "stratusd starts" t_wait 20 "stratusd port file" test -s "$T/port"
port=$(cat "$T/port")
U="https://127.0.0.1:$port/api/v1"
CURL=(curl -sS --max-time 20 --cacert "$S/tls/cert.pem")
token=$("${CURL[@]}" -X POST "$U/login" -d "{\"username\":\"admin\",\"password\":\"$(cat "$T/pw")\"}" | jpath token)
api() { local m=$1 p=$2; shift 2; "${CURL[@]}" -H "Authorization: Bearer $token" -X "$m" "$U$p" "$@"; }

# The cluster must be terminated (its nodes destroyed) before stratusd stops.
live_nodes() { api GET "/clusters/at$$/nodes" | grep -qE '"state":"(Acquiring|Preparing|Ready|Failed|Terminating)"'; }
cleanup_cluster() {
	live_nodes || return 0
	api POST "/clusters/at$$/terminate" -d '{}'
	t_wait 60 "cluster terminated" eval '! live_nodes'
}
t_on_cleanup cleanup_cluster

# A project: spec default for every node, spec work (failing at first) for execute nodes.
P="$T/proj"
mkdir -p "$P/specs/default/cluster-init/scripts" "$P/specs/default/cluster-init/files" \
	"$P/specs/work/cluster-init/scripts"
printf '[project]\nname = tproj\nversion = 1.0\n' >"$P/project.ini"
echo "a file shipped with the spec" >"$P/specs/default/cluster-init/files/note.txt"
cat >"$P/specs/default/cluster-init/scripts/10-hello.sh" <<'EOF'
#!/bin/bash
echo "hello from $(hostname) as $STRATUS_NODE_NAME of $STRATUS_CLUSTER"
echo "role=$(stratus-node config test.role none)"
echo "param=$(stratus-node config cluster.name)"
echo "disk=$STRATUS_LOCAL_DISK"
cat "$STRATUS_SPEC_DIR/files/note.txt"
echo "search:"
stratus-node search
echo "filtered:"
stratus-node search 'Template == "execute"'
echo ran >>/tmp/hello.count
EOF
chmod +x "$P/specs/default/cluster-init/scripts/10-hello.sh"
printf '#!/bin/sh\necho "work failing on purpose"\nexit 3\n' >"$P/specs/work/cluster-init/scripts/10-work.sh"
chmod +x "$P/specs/work/cluster-init/scripts/10-work.sh"
upload() { tar -czf "$T/proj.tgz" -C "$P" . && api PUT /lockers/lk/projects/tproj/1.0 --data-binary @"$T/proj.tgz"; }

cat >"$T/tmpl.txt" <<'EOF'
[cluster atest]
    [[node defaults]]
        [[[configuration]]]
        stratus.agent.heartbeat = 1
        [[[cluster-init tproj:default:1.0]]]
    [[node head]]
        [[[configuration]]]
        test.role = head
    [[nodearray execute]]
    InitialCount = 1
        [[[configuration]]]
        test.role = execute
        [[[cluster-init tproj:work:1.0]]]
EOF
perl -MJSON::PP -e 'local $/; open F, $ARGV[0]; print encode_json({text => scalar <F>})' "$T/tmpl.txt" >"$T/tmpl.json"

api POST /lockers -d '{"name":"lk"}' >"$T/locker.out"
like "$(upload)" '"specs":\["default","work"\]' "the project is uploaded to a locker"
like "$(api PUT /templates/atest --data-binary @"$T/tmpl.json")" '"name":"atest"' "the template is imported"
api POST /clusters -d "{\"name\":\"at$$\",\"template\":\"atest\"}" >"$T/create.out"
like "$(api POST /clusters/at$$/start -d '{}')" '"state":"Started"' "the cluster starts"

head="at$$-head"; exe="at$$-execute-1"
state_of() { api GET "/clusters/at$$/nodes/$1" | jpath state; }
state_is() { [ "$(state_of "$1")" = "$2" ]; }
ok "the head node reaches Ready" t_wait 60 "$head Ready" state_is "$head" Ready
hd=$(api GET "/clusters/at$$/nodes/$head")
is "$(echo "$hd" | jscript default 10-hello.sh status)" succeeded "its script's event reached the manager"
hlog=$(echo "$hd" | jscript default 10-hello.sh log)
like "$hlog" "hello from $head as $head of at$$" "the uploaded log holds the script's output (hostname, name, cluster)"
like "$hlog" "role=head" "stratus-node config reads the node's configuration from the manager"
like "$hlog" "a file shipped with the spec" "the script reaches its spec's files/"
like "$hlog" "disk=$S/nodes/$head/disk" "scripts get the node's local disk in STRATUS_LOCAL_DISK"
exe_ip=$(api GET "/clusters/at$$/nodes/$exe" | jpath ip)
like "$hlog" "$exe[[:space:]].*$exe_ip" "stratus-node search lists the other node with its address"
filtered=$(printf '%s\n' "$hlog" | sed -n '/^filtered:/,$p' | grep -c "^at$$-")
is "$filtered:$(printf '%s\n' "$hlog" | sed -n '/^filtered:/,$p' | grep -c "^$exe[[:space:]]")" "1:1" \
	"stratus-node search FILTER lists only the nodes that match"

t_wait 60 "$exe Failed" state_is "$exe" Failed
ed=$(api GET "/clusters/at$$/nodes/$exe")
is "$(echo "$ed" | jpath state):$(echo "$ed" | jpath reason)" "Failed:cluster-init script work/10-work.sh exited 3" \
	"a failing script leaves its node Failed with the contract's reason"
like "$(echo "$ed" | jscript work 10-work.sh log)" "work failing on purpose" "and the failed script's log is uploaded"

hb1=$(api GET "/clusters/at$$/nodes/$head" | jpath last_heartbeat)
newer_heartbeat() { [ "$(api GET "/clusters/at$$/nodes/$head" | jpath last_heartbeat)" -gt "$hb1" ]; }
ok "heartbeats arrive (stratus.agent.heartbeat = 1)" t_wait 10 "a newer heartbeat" newer_heartbeat

# `stratus-node retry` in the node: nothing failed, so nothing runs again.
hpid=$(echo "$hd" | jpath holder_pid)
ok "stratus-node retry in a Ready node succeeds" nsenter -t "$hpid" -n -u -m --wd=/ \
	"$BIN/stratus-node" retry --config "$S/nodes/$head/agent.conf"
is "$(wc -l <"$S/nodes/$head/tmp/hello.count")" 1 "and runs no script that already succeeded"

# The manager goes away and comes back on the same port: scripts still get
# their configuration from the cache, and the agent's heartbeats resume.
t_stop "$STRATUSD" KILL
is "$(STRATUS_NODE_CONFIG="$S/nodes/$head/agent/node.json" "$BIN/stratus-node" config test.role)" head \
	"while the manager is away, stratus-node config answers from the cache"
t_start stratusd2 "$BIN/stratusd" --state-dir "$S" --port "$port" --port-file "$T/port2" --network "$net.0/24" --retry-max 0
STRATUSD=$T_PID
ok "stratusd comes back on its port" t_wait 20 "stratusd port file" test -s "$T/port2"
hb1=$(( $(date +%s%N) / 1000000 ))
ok "the agent's heartbeats reach the manager again" t_wait 20 "a heartbeat after the restart" newer_heartbeat

# Fix the project, retry: the agent sees Preparing and runs only what failed.
printf '#!/bin/sh\necho "work fixed"\n' >"$P/specs/work/cluster-init/scripts/10-work.sh"
upload >/dev/null
api POST "/clusters/at$$/retry" -d "{\"nodes\":[\"$exe\"]}" >"$T/retry.out"
ok "after the fix, retry brings the node to Ready" t_wait 60 "$exe Ready" state_is "$exe" Ready
is "$(wc -l <"$S/nodes/$exe/tmp/hello.count")" 1 "the script that had succeeded did not run again"

cleanup_cluster >/dev/null
left=$(ip netns list | grep -c "^st-at$$-")
is "$left" 0 "terminating the cluster leaves no node namespace behind"
