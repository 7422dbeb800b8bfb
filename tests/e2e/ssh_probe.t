#!/bin/bash
# The pool checker probes hosts side by side: a host that goes silent (its
# sshd frozen with SIGSTOP: the kernel still accepts the connection, and ssh
# waits the whole connect timeout, here 120 s, for a banner that never comes)
# holds one probe, not the others.  While it hangs, a busy
# host whose sshd stops still fails its node within the pool's fail-after
# (3 s; the test allows 40 s, well under the 120 s a checker stuck behind the
# silent host would take), and a free host is still probed.  Three machines
# of tests/e2e/ssh_lib.sh.
export TMPDIR=/var/tmp
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
t_need_root
t_need_cmd ip sshd ssh ssh-keygen nsenter unshare curl perl tar
[ -x "$BIN/stratusd" ] || skip_all "stratusd is not built"

plan 7
ssh-keygen -q -t ed25519 -N '' -C "pool-$$" -f "$T/poolkey" || bail "ssh-keygen failed"
ssh_net_up || bail "cannot make the test's bridge"
for i in 1 2 3; do ssh_machine_up "$i" || bail "machine$i did not start"; done

ssh_manager_up --retry-max 0

C="pc$$"
live_nodes() { api GET "/clusters/$C/nodes" 2>/dev/null | grep -qE '"state":"(Acquiring|Preparing|Ready|Failed|Terminating)"'; }
cleanup_cluster() {
	live_nodes || return 0
	api POST "/clusters/$C/terminate" -d '{"force":true}' >/dev/null
	t_wait 120 "cluster terminated" eval '! live_nodes'
}
t_on_cleanup cleanup_cluster

P="pool$$"
stratus pool create "$P" --probe-interval 500ms --fail-after 3s --connect-timeout 120 >/dev/null || bail "pool create failed"
for i in 1 2 3; do stratus host add "$P" "h$i" "$SSH_NET.1$i" --key "$T/poolkey" >/dev/null || bail "host add h$i failed"; done
cat >"$T/tmpl.txt" <<'EOF'
[cluster probetest]
    [[node defaults]]
    Pool = $HostPool
        [[[configuration]]]
        stratus.agent.heartbeat = 1
    [[node head]]
[parameters Pools]
    [[parameters Hosts]]
        [[[parameter HostPool]]]
        DefaultValue = none
EOF
perl -MJSON::PP -e 'local $/; open F, $ARGV[0]; print encode_json({text => scalar <F>})' "$T/tmpl.txt" >"$T/tmpl.json"
api PUT /templates/probetest --data-binary @"$T/tmpl.json" >/dev/null
api POST /clusters -d "{\"name\":\"$C\",\"template\":\"probetest\",\"parameters\":{\"HostPool\":\"$P\"}}" >/dev/null
api POST "/clusters/$C/start" -d '{}' >/dev/null
head="$C-head"
state_is() { [ "$(api GET "/clusters/$C/nodes/$1" | jpath state)" = "$2" ]; }
ok "a node comes up Ready on a pool host" t_wait 90 "$head Ready" state_is "$head" Ready
hip=$(api GET "/clusters/$C/nodes/$head" | jpath ip)
hi=$(( ${hip##*.} - 10 ))
# The silent host: a free one (not the node's), its sshd frozen.
si=3; [ "$hi" = 3 ] && si=2
oi=$(( 6 - hi - si ))   # the third machine: free, answering
sshd_signal() { m_exec "$1" sh -c 'kill -"$2" "$(cat "$1")"' sh "$T/m$1/sshd.pid" "$2"; }
t_on_cleanup "sshd_signal $si CONT"
sshd_signal "$si" STOP || bail "cannot freeze machine$si's sshd"
last_probe() { api GET "/hosts/h$1" | jpath last_probe; }
# Wait for a probe of the silent host to start and hang: its last_probe stops moving.
p0=$(last_probe "$si"); sleep 2; p1=$(last_probe "$si"); sleep 2; p2=$(last_probe "$si")
ok "the silent host's probe hangs (no probe of it finished for 2 s)" test "$p1" = "$p2"

o1=$(last_probe "$oi")
ok "while it hangs, the free host h$oi is still probed" t_wait 20 "h$oi probed" sh -c "[ \"\$(curl -sS --noproxy '*' --cacert '$S/tls/cert.pem' -H 'Authorization: Bearer $token' '$U/hosts/h$oi' | grep -o '\"last_probe\":[0-9]*')\" != '\"last_probe\":$o1' ]"

m_stop_sshd "$hi"
t0=$(date +%s)
ok "and the node whose host stops answering becomes Failed within the pool's fail-after, not after the silent host's timeout" \
	t_wait 40 "$head Failed" state_is "$head" Failed
diag "the node was Failed $(( $(date +%s) - t0 )) s after its host's sshd stopped (fail-after 3 s, silent host's connect timeout 120 s)"
like "$(api GET "/clusters/$C/nodes/$head" | jpath reason)" "host 'h$hi' .* has not answered over ssh" "with the reason"
is "$(last_probe "$si")" "$p2" "the silent host's probe was still hanging then (it delayed nobody)"

sshd_signal "$si" CONT
m_exec "$hi" /usr/sbin/sshd -f "$T/m$hi/sshd_config" -E "$T/m$hi/sshd.log"
answered() { local j; j=$(api GET "/hosts/h$si"); [ "$(echo "$j" | jpath last_probe)" != "$p2" ] && [ "$(echo "$j" | jpath reachable)" = 1 ]; }
ok "once its sshd runs again, the silent host's probe ends and it answers" t_wait 120 "h$si answered" answered
