#!/bin/bash
# Stop scripts through stratusd and the local provider: before a node is
# destroyed the manager runs the cluster-init stop/ scripts of its specs in
# it (last spec first, each with its log and an event); a failing one keeps
# the node running, Terminating -> Failed with the reason, with no automatic
# retry, until it is terminated again (scripts pass) or with --force; a whole
# cluster's terminate gives the scripts STRATUS_STOP_SCOPE=cluster.
export TMPDIR=/var/tmp
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mgr_lib.sh"
t_need_root
t_need_cmd ip sshd ssh-keygen curl tar perl
for p in stratusd stratus stratus-node; do
	[ -x "$BIN/$p" ] || skip_all "$p is not built"
done

x=$(( ($$ / 256) % 200 + 20 )); y=$(( ($$ + 96) % 256 ))
for try in 0 1 2 3 4 5 6 7; do
	net="10.$x.$(( (y + try) % 256 ))"
	ip -4 route show | grep -q "^$net\." || break
done
MGR_NET=$net.0/24
mgr_start "$T/state" || bail "stratusd did not start"
mgr_login || bail "stratus initialize failed"
C=ns$$
live() { stratus show_nodes "$C" 2>/dev/null | grep -qE 'Acquiring|Preparing|Ready|Failed|Terminating'; }
down() {
	rm -f "$T/block"
	live || return 0
	stratus terminate_cluster "$C" --force >/dev/null 2>&1
	t_wait 60 "$C off" eval '! live'
}
t_on_cleanup down

# jpath PATH: a value out of the JSON on stdin ("scripts.0.status").
jpath() {
	perl -MJSON::PP -e '$d = decode_json(join("", <STDIN>));
		for $k (split /\./, $ARGV[0]) { $d = ref($d) eq "ARRAY" ? $d->[$k] : $d->{$k} }
		print ref($d) ? JSON::PP->new->canonical->encode($d) : (defined $d ? $d : ""), "\n"' "$1"
}
node_json() { mgr_curl GET "/clusters/$C/nodes/$C-$1" -H "Authorization: Bearer $(mgr_token)" >/dev/null; cat "$T/body"; }
# script_field NODE SPEC SCRIPT FIELD
script_field() {
	node_json "$1" | perl -MJSON::PP -e '$d = decode_json(join("", <STDIN>));
		for (@{$d->{scripts}}) { print $_->{$ARGV[2]}, "\n" if $_->{spec} eq $ARGV[0] && $_->{script} eq $ARGV[1] }' \
		"$2" "$3" "$4"
}
events() { mgr_curl GET "/clusters/$C/events" -H "Authorization: Bearer $(mgr_token)" >/dev/null; cat "$T/body"; }

# Spec default (every node): a stop script that records its run.  Spec guard
# (execute nodes): a stop script that fails while $T/block exists.
P=$T/proj
mkdir -p "$P/specs/default/cluster-init/scripts" "$P/specs/default/cluster-init/stop" \
	"$P/specs/guard/cluster-init/stop"
printf '[project]\nname = stopproj\nversion = 1.0\n' >"$P/project.ini"
printf '#!/bin/sh\necho started >"%s/started.$STRATUS_NODE_NAME"\n' "$T" >"$P/specs/default/cluster-init/scripts/10-start.sh"
printf '#!/bin/sh\necho "default $STRATUS_NODE_NAME scope=$STRATUS_STOP_SCOPE" >>"%s/stops"\necho "default stop of $STRATUS_NODE_NAME"\n' \
	"$T" >"$P/specs/default/cluster-init/stop/10-record.sh"
cat >"$P/specs/guard/cluster-init/stop/10-check.sh" <<EOF
#!/bin/sh
if [ -e "$T/block" ]; then echo "guard: data not safe yet on \$STRATUS_NODE_NAME"; exit 4; fi
echo "guard \$STRATUS_NODE_NAME scope=\$STRATUS_STOP_SCOPE" >>"$T/stops"
EOF
chmod +x "$P"/specs/*/cluster-init/*/*.sh
cat >"$T/tmpl.txt" <<'EOF'
[cluster stoptest]
    [[node defaults]]
        [[[configuration]]]
        stratus.agent.heartbeat = 1
        [[[cluster-init stopproj:default:1.0]]]
    [[node head]]
    [[nodearray execute]]
    InitialCount = 2
        [[[cluster-init stopproj:guard:1.0]]]
EOF

plan 16
(cd "$P" && stratus project upload default >/dev/null) && stratus import_template -f "$T/tmpl.txt" >/dev/null &&
	stratus create_cluster stoptest "$C" >/dev/null && stratus start_cluster "$C" >/dev/null
ok "the cluster's 3 nodes become Ready" t_wait 90 "3 Ready" mgr_count_is "$C" Ready 3

touch "$T/block"
ok "terminate_node execute-1 is taken" stratus terminate_node "$C" execute-1
ok "its failing stop script leaves it Failed" t_wait 60 "execute-1 Failed" mgr_is "$C" "$C-execute-1" Failed
n=$(node_json execute-1)
like "$(echo "$n" | jpath reason)" "^stop script guard/stop/10-check.sh exited 4; the node was not destroyed" \
	"the reason names the stop script and says the node was kept"
like "$(script_field execute-1 guard stop/10-check.sh status):$(script_field execute-1 guard stop/10-check.sh log)" \
	"^failed:guard: data not safe yet on $C-execute-1" "the failed stop script's log reached the manager"
hp=$(echo "$n" | jpath holder_pid)
ok "the node still runs (its holder process is alive)" kill -0 "$hp"
is "$(echo "$n" | jpath retry)" "" "no automatic retry is scheduled for it"
is "$(grep -c . "$T/stops" 2>/dev/null || echo 0)" 0 "no later stop script ran after the failing one (default's stays for later)"

rm -f "$T/block"
ok "terminate_node again once the cause is gone" stratus terminate_node "$C" execute-1
ok "then it goes Off" t_wait 60 "execute-1 Off" mgr_is "$C" "$C-execute-1" Off
is "$(cat "$T/stops")" "$(printf 'guard %s scope=node\ndefault %s scope=node' "$C-execute-1" "$C-execute-1")" \
	"the stop scripts ran last spec first, scope node"
like "$(events)" "stop script guard/stop/10-check.sh succeeded.*stop scripts done in" \
	"each stop script and the whole stop are events"

touch "$T/block"
: >"$T/stops"
ok "terminate_node --force on execute-2 while its stop script fails" stratus terminate_node "$C" execute-2 --force
ok "destroys it anyway" t_wait 60 "execute-2 Off" mgr_is "$C" "$C-execute-2" Off
like "$(events)" "destroying the node anyway \\(--force\\)" "and says what that costs in an event"

rm -f "$T/block"
: >"$T/stops"
stratus terminate_cluster "$C" >/dev/null
t_wait 60 "$C off" eval '! live'
is "$(cat "$T/stops")" "default $C-head scope=cluster" "a cluster's terminate runs the head's stop scripts with scope cluster"
