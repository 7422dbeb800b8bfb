#!/bin/bash
# The ssh provider on "existing machines": three machines (network, UTS, PID
# and mount namespaces, each with its own sshd and host key) that stratusd
# reaches only through ssh.  Register them in a pool; a cluster whose nodes
# name the pool comes up Ready on them; terminating a node gives its host back
# clean (no process, mount or file of ours, hostname and /etc/hosts as they
# were); a host whose sshd stops makes its node Failed and a retry takes
# another host; an empty pool is a clear error; a changed host key is refused.
export TMPDIR=/var/tmp
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
t_need_root
t_need_cmd ip sshd ssh ssh-keygen nsenter unshare curl perl tar
[ -x "$BIN/stratusd" ] || skip_all "stratusd is not built"

plan 45

ssh-keygen -q -t ed25519 -N '' -C "pool-$$" -f "$T/poolkey" || bail "ssh-keygen failed"
ssh-keygen -q -t ed25519 -N '' -C "other-$$" -f "$T/otherkey" || bail "ssh-keygen failed"
ssh_net_up || bail "cannot make the test's bridge"
for i in 1 2 3; do ssh_machine_up "$i" || bail "machine$i did not start"; m_count_mounts "$i"; done
pass "three machines answer ssh on $SSH_NET.11-13"

# ---- the manager ----
ssh_manager_up --retry-max 0
# apis METHOD PATH [args]: the status code; the body in $T/body.
apis() { local m=$1 p=$2; shift 2; "${CURL[@]}" -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $token" -X "$m" "$U$p" "$@"; }

C="sc$$"
live_nodes() { api GET "/clusters/$C/nodes" 2>/dev/null | grep -qE '"state":"(Acquiring|Preparing|Ready|Failed|Terminating)"'; }
cleanup_cluster() {
	live_nodes || return 0
	api POST "/clusters/$C/terminate" -d '{}' >/dev/null
	t_wait 90 "cluster terminated" eval '! live_nodes'
}
t_on_cleanup cleanup_cluster

# ---- a pool and its hosts ----
P="pool$$"
ok "stratus pool create makes a pool" stratus pool create "$P" --probe-interval 500ms --fail-after 3s --connect-timeout 2
out=$(stratus host add "$P" h1 "$SSH_NET.11" --key "$T/poolkey" --machine-type test.small --disks /dev/null:1G 2>&1)
like "$out" "^Added host 'h1' \($SSH_NET.11\) to pool '$P': $(nproc) cores, [0-9]+ MiB, Debian" \
	"stratus host add registers a host once it answers over ssh, with the cores, memory and OS it found"
is "$(api GET /hosts/h1 | jpath state):$(api GET /hosts/h1 | jpath machine_type)" "free:test.small" "the host is free, with its machine type"
is "$(api GET /hosts/h1 | jpath host_key)" "ssh-ed25519 $(awk '{print $2}' "$T/m1/hostkey.pub")" \
	"its host key is recorded at first contact"
is "$(api GET /hosts/h1 | jpath host_key_fingerprint)" "$(ssh-keygen -lf "$T/m1/hostkey.pub" | awk '{print $2}')" \
	"the API gives its fingerprint as ssh-keygen -l prints it"
like "$(stratus host show h1)" '"host_key_fingerprint": *"SHA256:' \
	"stratus host show includes it"
ok "the private key is stored mode 0600" test "$(stat -c %a "$S/pools/hosts/h1/id_key")" = 600
ok "and never shown by the API or the CLI" sh -c "! stratus host list --format json | grep -q PRIVATE && ! stratus host show h1 | grep -q PRIVATE"
ok "nor written to the manager's log" sh -c "! grep -q 'PRIVATE KEY' '$T/stratusd.log'"
for i in 2 3; do stratus host add "$P" "h$i" "$SSH_NET.1$i" --key "$T/poolkey" >/dev/null; done
is "$(api GET "/pools/$P" | jpath free)" 3 "three hosts are free in the pool"
like "$(stratus host list "$P")" "h3 +$P +$SSH_NET.13 +free" "stratus host list shows them"

out=$(stratus host add "$P" hx "$SSH_NET.12" --key "$T/otherkey" 2>&1); st=$?
is "$st:$(echo "$out" | grep -c 'refused the key')" "1:1" "a host that refuses the key is not registered, and the error says why"
out=$(stratus host add "$P" hy "$SSH_NET.99" --key "$T/poolkey" 2>&1); st=$?
is "$st:$(echo "$out" | grep -c 'does not answer')" "1:1" "a host that does not answer is not registered"

# ---- a cluster on the pool ----
PR="$T/proj"
mkdir -p "$PR/specs/default/cluster-init/scripts" "$PR/specs/default/cluster-init/stop"
printf '[project]\nname = sshproj\nversion = 1.0\n' >"$PR/project.ini"
cat >"$PR/specs/default/cluster-init/scripts/10-hello.sh" <<'EOF'
#!/bin/bash
set -e
echo "hello from $(hostname) as $STRATUS_NODE_NAME of $STRATUS_CLUSTER"
getent hosts "$STRATUS_NODE_NAME"
# A daemon of cluster-init's own, and a mount: release must undo both.
setsid sleep 100000 </dev/null >/dev/null 2>&1 &
mkdir -p /opt/stratus-test-mnt && mount -t tmpfs tmpfs /opt/stratus-test-mnt
EOF
cat >"$PR/specs/default/cluster-init/stop/10-stop.sh" <<'EOF'
#!/bin/sh
echo "stop script of $STRATUS_NODE_NAME scope ${STRATUS_STOP_SCOPE:-unset}" >>/tmp/stop-ran
umount /opt/stratus-test-mnt && rmdir /opt/stratus-test-mnt
EOF
chmod +x "$PR"/specs/default/cluster-init/*/*.sh
api POST /lockers -d '{"name":"lk"}' >/dev/null
tar -czf "$T/proj.tgz" -C "$PR" . && api PUT /lockers/lk/projects/sshproj/1.0 --data-binary @"$T/proj.tgz" >/dev/null
cat >"$T/tmpl.txt" <<'EOF'
[cluster sshtest]
    [[node defaults]]
    Pool = $HostPool
        [[[configuration]]]
        stratus.agent.heartbeat = 1
        [[[cluster-init sshproj:default:1.0]]]
    [[node head]]
    [[nodearray execute]]
    InitialCount = 1
[parameters Pools]
    [[parameters Hosts]]
        [[[parameter HostPool]]]
        DefaultValue = none
EOF
perl -MJSON::PP -e 'local $/; open F, $ARGV[0]; print encode_json({text => scalar <F>})' "$T/tmpl.txt" >"$T/tmpl.json"
api PUT /templates/sshtest --data-binary @"$T/tmpl.json" >/dev/null
is "$(apis POST /clusters -d "{\"name\":\"$C\",\"template\":\"sshtest\",\"parameters\":{\"HostPool\":\"$P\"}}")" 201 \
	"a cluster names the pool through a template parameter"
api POST "/clusters/$C/start" -d '{}' >/dev/null
head="$C-head"; exe="$C-execute-1"
state_of() { api GET "/clusters/$C/nodes/$1" | jpath state; }
state_is() { [ "$(state_of "$1")" = "$2" ]; }
ok "the head node reaches Ready on a pool host" t_wait 90 "$head Ready" state_is "$head" Ready
ok "the execute node reaches Ready on a pool host" t_wait 90 "$exe Ready" state_is "$exe" Ready
hd=$(api GET "/clusters/$C/nodes/$head")
hip=$(echo "$hd" | jpath ip)
like "$hip" "^$SSH_NET\.1[123]$" "the node's address is its host's"
hi=${hip##*.}; hi=$((hi - 10))
is "$(m_exec "$hi" hostname)" "$head" "the host's hostname is the node's name"
like "$(echo "$hd" | perl -MJSON::PP -e '$d = decode_json(join "", <STDIN>); print $_->{log} for @{$d->{scripts}}')" \
	"hello from $head as $head of $C" "cluster-init ran on the host and its log reached the manager"
eip=$(api GET "/clusters/$C/nodes/$exe" | jpath ip)
ei=${eip##*.}; ei=$((ei - 10))
ok "the host's /etc/hosts names the other nodes of the cluster (kept up to date)" \
	t_wait 10 "$exe in machine$hi's /etc/hosts" grep -qE "^$eip[[:space:]]+$exe\$" "$T/m$hi/hosts"
is "$(api GET "/pools/$P" | jpath busy)" 2 "two hosts are busy"

# ---- terminating gives the host back clean ----
api POST "/clusters/$C/nodes/terminate" -d "{\"nodes\":[\"$exe\"]}" >/dev/null
ok "a terminated node goes Off" t_wait 60 "$exe Off" state_is "$exe" Off
ok "its host is clean: no process, mount or file of ours, hostname and /etc/hosts restored" m_clean "$ei"
like "$(cat "$T/m$ei/tmp/stop-ran" 2>/dev/null)" "stop script of $exe scope node" \
	"the spec's stop script ran, with STRATUS_STOP_SCOPE=node (one node goes)"
host_state() { api GET "/hosts/$1" | jpath state; }
is "$(host_state "h$ei")" free "and the host is free again"

# ---- an empty pool is an error, not a hang ----
# Take the free hosts away (h3 through a changed host key, below) ...
free_hosts=$(api GET "/pools/$P/hosts" | perl -MJSON::PP -e 'print join " ", map { $_->{name} } grep { $_->{state} eq "free" } @{decode_json(join "", <STDIN>)->{hosts}}')
# ---- a changed host key is refused ----
ki=${free_hosts##*h}; ki=${ki%% *}
[ -n "$ki" ] || ki=$ei
rm -f "$T/m$ki/hostkey" "$T/m$ki/hostkey.pub"
t_stop "${M_PID[$ki]}"
ssh_machine_up "$ki" || bail "machine$ki did not come back"
m_count_mounts "$ki" # a new mount namespace: copied from the host's table as it is now
host_reason() { api GET "/hosts/$1" | jpath reason; }
ok "a host whose key changed is marked unclean" t_wait 20 "h$ki unclean" sh -c "[ \"\$(curl -sS --noproxy '*' --cacert '$S/tls/cert.pem' -H 'Authorization: Bearer $token' '$U/hosts/h$ki' | grep -o '\"state\":\"[a-z]*\"')\" = '\"state\":\"unclean\"' ]"
like "$(host_reason "h$ki")" "host key of 'h$ki'.*not the one recorded" "with the reason: the host key changed"
out=$(stratus host clear "h$ki" 2>&1); st=$?
is "$st:$(echo "$out" | grep -c 'host key')" "1:1" "clearing it over ssh is refused while the key differs"
for h in $free_hosts; do [ "$h" = "h$ki" ] || stratus host remove "$h" >/dev/null; done
api POST "/clusters/$C/nodes" -d '{"template":"execute","count":1}' >/dev/null
exe2="$C-execute-2"
ok "a node of an empty pool fails at once" t_wait 20 "$exe2 Failed" state_is "$exe2" Failed
like "$(api GET "/clusters/$C/nodes/$exe2" | jpath reason)" "pool '$P' has no free host" "with a reason that says the pool is empty"
like "$(api GET "/clusters/$C/events" | grep -o "pool '$P' has no free host" | head -1)" "no free host" "and an event"

# ---- a host that stops answering: its node Failed, a retry takes another host ----
# Give the pool a host back for the retry.
stratus host remove "h$ki" >/dev/null
ok "the reinstalled host is registered again under a new name" stratus host add "$P" "h${ki}b" "$SSH_NET.1$ki" --key "$T/poolkey"
m_stop_sshd "$hi"
ok "the head node becomes Failed once its host stops answering" t_wait 30 "$head Failed" state_is "$head" Failed
like "$(api GET "/clusters/$C/nodes/$head" | jpath reason)" "host 'h$hi' .* has not answered over ssh for [0-9]+ s" \
	"with the reason: the host stopped answering"
is "$(host_state "h$hi")" unclean "its host is quarantined (unclean)"
api POST "/clusters/$C/retry" -d "{\"nodes\":[\"$head\"]}" >/dev/null
ok "a retry brings the node up on another host" t_wait 90 "$head Ready" state_is "$head" Ready
is "$(api GET "/clusters/$C/nodes/$head" | jpath ip)" "$SSH_NET.1$ki" "on the free host"

# ---- the lost host comes back: clear cleans it ----
m_exec "$hi" /usr/sbin/sshd -f "$T/m$hi/sshd_config" -E "$T/m$hi/sshd.log"
like "$(stratus host clear "h$hi")" "is free \(cleaned over ssh\)" "stratus host clear cleans the lost host over ssh"
ok "and leaves nothing of ours on it" m_clean "$hi"

# ---- the manager restarts: the node on its host is found again over ssh ----
port=$(cat "$T/port")
t_stop "$PID_stratusd" KILL
t_start stratusd2 "$BIN/stratusd" --state-dir "$S" --port "$port" --port-file "$T/port2" --network "$net.0/24" --retry-max 0 --log-level debug
t_wait 20 "stratusd back" test -s "$T/port2" || bail "stratusd did not come back"
reconciled() {
	api GET "/clusters/$C/events" | H=$head perl -MJSON::PP -e '
		exit !grep { $_->{node} eq $ENV{H} && $_->{message} =~ /still running after stratusd restarted/ }
			@{decode_json(join "", <STDIN>)->{events}}'
}
ok "after a manager restart the node on its host is reconciled as still running" \
	t_wait 20 "reconcile event" reconciled

is "$(state_of "$head")" Ready "and it is still Ready"

# ---- terminating the cluster returns every host clean ----
cleanup_cluster
ok "the cluster's nodes are all Off" sh -c "! curl -sS --noproxy '*' --cacert '$S/tls/cert.pem' -H 'Authorization: Bearer $token' '$U/clusters/$C/nodes' | grep -qE '\"state\":\"(Acquiring|Preparing|Ready|Failed|Terminating)\"'"
ok "the head's new host is clean" m_clean "$ki"
like "$(cat "$T/m$ki/tmp/stop-ran" 2>/dev/null)" "stop script of $head scope cluster" \
	"terminating the whole cluster runs the stop scripts with STRATUS_STOP_SCOPE=cluster"
