#!/bin/bash
# Values and secrets that a cluster's nodes share through the manager rather
# than through a folder (src/manager/values.c): three one-node clusters made by
# the local provider: "st" (a storage cluster), "cc" whose configuration
# stratusfs.cluster names st, and "ot" that does not name st.  Nodes publish
# and look up values (`stratus-node publish|lookup`), a lookup waits for a
# value published later, a cluster that does not name st is refused its values
# and its key, each node gets its own cluster's MUNGE key (munge.key) and cc's
# node st's key (stratusfs.munge_key), and no key shows in the API, events or
# logs.
export TMPDIR=/var/tmp
. "$(dirname "$0")/../lib.sh"
t_need_root
t_need_cmd ip sshd ssh-keygen curl tar perl sha256sum base64
[ -x "$BIN/stratusd" ] || skip_all "stratusd is not built"

jpath() {
	perl -MJSON::PP -e '$d = decode_json(join("", <STDIN>));
		for $k (split /\./, $ARGV[0]) { $d = ref($d) eq "ARRAY" ? $d->[$k] : $d->{$k} }
		print ref($d) ? JSON::PP->new->canonical->encode($d) : (defined $d ? $d : ""), "\n"' "$1"
}
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
x=$(( ($$ / 256) % 200 + 20 )); y=$(( ($$ + 96) % 256 ))
for try in 0 1 2 3 4 5 6 7; do
	net="10.$x.$(( (y + try) % 256 ))"
	ip -4 route show | grep -q "^$net\." || break
done
# Each cluster takes a /24 of the range: give it four.
base=$(( $(echo "$net" | cut -d. -f3) & ~3 ))
net="10.$x.$base"
t_start stratusd "$BIN/stratusd" --state-dir "$S" --port 0 --port-file "$T/port" --network "$net.0/22" --retry-max 0 \
	--log-level debug
plan 17
ok "stratusd starts" t_wait 20 "stratusd port file" test -s "$T/port"
U="https://127.0.0.1:$(cat "$T/port")/api/v1"
CURL=(curl -sS --max-time 20 --cacert "$S/tls/cert.pem")
token=$("${CURL[@]}" -X POST "$U/login" -d "{\"username\":\"admin\",\"password\":\"$(cat "$T/pw")\"}" | jpath token)
api() { local m=$1 p=$2; shift 2; "${CURL[@]}" -H "Authorization: Bearer $token" -X "$m" "$U$p" "$@"; }

ST=vs$$ CC=vc$$ OT=vo$$
live() { api GET "/clusters/$1/nodes" | grep -qE '"state":"(Acquiring|Preparing|Ready|Failed|Terminating)"'; }
down() {
	live "$1" || return 0
	api POST "/clusters/$1/terminate" -d '{"force":true}' >/dev/null
	t_wait 60 "$1 terminated" eval "! live $1"
}
t_on_cleanup "down $OT; down $CC; down $ST"

P="$T/proj"
mkdir -p "$P/specs/default/cluster-init/scripts"
printf '[project]\nname = vproj\nversion = 1.0\n' >"$P/project.ini"
cat >"$P/specs/default/cluster-init/scripts/10-values.sh" <<'EOF'
#!/bin/bash
set -u
# A key's fingerprint, never the key: this log is uploaded to the manager.
fp() { local v; v=$(stratus-node config "$1" ""); [ -n "$v" ] || { echo none; return; }; printf '%s' "$v" | base64 -d | sha256sum | cut -c1-16; }
echo "own=$(fp munge.key)"
echo "storage=$(fp stratusfs.munge_key)"
stratus-node publish test.addr "addr of $STRATUS_NODE_NAME" || exit 1
echo "own-lookup=$(stratus-node lookup test.addr)"
echo "published from stdin" | stratus-node publish test.stdin - || exit 1
echo "stdin-lookup=$(stratus-node lookup test.stdin)"
st=$(stratus-node config stratusfs.cluster none)
if [ "$st" != none ]; then
	echo "storage-lookup=$(stratus-node lookup --cluster "$st" --wait 120 test.addr)"
fi
other=$(stratus-node config test.other none)
if [ "$other" != none ]; then
	stratus-node lookup --cluster "$other" --wait 5 test.addr
	echo "other-rc=$?"
fi
stratus-node lookup --wait 1 test.never
echo "missing-rc=$?"
exit 0
EOF
chmod +x "$P/specs/default/cluster-init/scripts/10-values.sh"
tar -czf "$T/proj.tgz" -C "$P" .
api POST /lockers -d '{"name":"lk"}' >/dev/null
api PUT /lockers/lk/projects/vproj/1.0 --data-binary @"$T/proj.tgz" >/dev/null
cat >"$T/tmpl.txt" <<'EOF'
[cluster vtest]
    [[node defaults]]
        [[[configuration]]]
        stratus.agent.heartbeat = 1
        stratusfs.cluster = $Storage
        test.other = $Other
        [[[cluster-init vproj:default:1.0]]]
    [[node head]]

[parameters Settings]
    [[parameters Links]]
        [[[parameter Storage]]]
        DefaultValue = none
        [[[parameter Other]]]
        DefaultValue = none
EOF
perl -MJSON::PP -e 'local $/; open F, $ARGV[0]; print encode_json({text => scalar <F>})' "$T/tmpl.txt" >"$T/tmpl.json"
api PUT /templates/vtest --data-binary @"$T/tmpl.json" >/dev/null
api POST /clusters -d "{\"name\":\"$ST\",\"template\":\"vtest\"}" >/dev/null
api POST /clusters -d "{\"name\":\"$CC\",\"template\":\"vtest\",\"parameters\":{\"Storage\":\"$ST\"}}" >/dev/null
out=$(api POST /clusters -d "{\"name\":\"$OT\",\"template\":\"vtest\",\"parameters\":{\"Other\":\"$ST\"}}")
like "$out" "\"name\":\"$OT\"" "three clusters are made; one names the first in stratusfs.cluster, one does not"
ok "each cluster has a MUNGE key of 1024 bytes, mode 0600, made by the manager" sh -c "
	for c in $ST $CC $OT; do f=$S/clusters/\$c/secrets/munge.key
		[ \$(stat -c %s \$f) = 1024 ] && [ \$(stat -c %a \$f) = 600 ] || exit 1; done"
fp() { sha256sum <"$S/clusters/$1/secrets/munge.key" | cut -c1-16; }

# cc starts first: its node waits for st's value until st's node publishes it.
api POST "/clusters/$CC/start" -d '{}' >/dev/null
state_is() { [ "$(api GET "/clusters/$1/nodes/$1-head" | jpath state)" = "$2" ]; }
t_wait 60 "$CC-head Preparing" state_is "$CC" Preparing
api POST "/clusters/$ST/start" -d '{}' >/dev/null
api POST "/clusters/$OT/start" -d '{}' >/dev/null
ok "the three nodes become Ready" t_wait 120 "nodes Ready" sh -c "
	for c in $ST $CC $OT; do [ \"\$(${CURL[*]} -H 'Authorization: Bearer $token' $U/clusters/\$c/nodes/\$c-head | grep -o '\"state\":\"[A-Za-z]*\"' | head -n 1)\" = '\"state\":\"Ready\"' ] || exit 1; done"
log_of() { api GET "/clusters/$1/nodes/$1-head" | jscript default 10-values.sh log; }
sl=$(log_of "$ST"); cl=$(log_of "$CC"); ol=$(log_of "$OT")
like "$sl" "own-lookup=addr of $ST-head" "a node publishes a value for its cluster and looks it up"
like "$sl" "stdin-lookup=published from stdin" "publish - reads the value from stdin"
like "$cl" "storage-lookup=addr of $ST-head" "a node of a cluster that names st waits for st's value and reads it"
like "$ol" "other-rc=2" "a node of a cluster that does not name st is refused st's values (exit 2, no wait)"
like "$sl" "missing-rc=1" "a value never published: lookup --wait 1 gives up with exit 1"
is "$(echo "$sl" | grep -o 'own=.*'):$(echo "$cl" | grep -o 'own=.*')" "own=$(fp "$ST"):own=$(fp "$CC")" \
	"each node's munge.key is its own cluster's key"
is "$(echo "$cl" | grep -o 'storage=.*')" "storage=$(fp "$ST")" "the node of the cluster that names st gets st's key as stratusfs.munge_key"
is "$(echo "$ol" | grep -o 'storage=.*'):$(echo "$sl" | grep -o 'storage=.*')" "storage=none:storage=none" \
	"the other clusters' nodes get no storage key"

# Where the keys are, and where they are not.
nd="$S/nodes/$CC-head"
is "$(stat -c %a "$nd/secrets.json"):$(stat -c %a "$nd/agent/node.json")" "600:600" \
	"the node's secrets file and its configuration cache are mode 0600"
ntoken=$(awk -F' = ' '$1 == "token" { print $2 }' "$nd/agent.conf")
nodedoc=$("${CURL[@]}" -H "Authorization: Bearer $ntoken" "$U/node")
b64=$(base64 -w0 <"$S/clusters/$ST/secrets/munge.key" | cut -c1-40)
ok "no key travels in the API: GET /node, the cluster, its nodes, events, values" sh -c "
	echo '$nodedoc' | grep -q '\"name\":\"$CC-head\"' &&
	! { echo '$nodedoc'; for c in $ST $CC $OT; do api() { ${CURL[*]} -H 'Authorization: Bearer $token' \$U\$1; }
		U=$U; api /clusters/\$c; api /clusters/\$c/nodes/\$c-head; api /clusters/\$c/events; api /clusters/\$c/values; done; } |
		grep -qF -e '$b64' -e 'munge_key' -e 'munge.key\":'"
st_put=$("${CURL[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ntoken" -X PUT "$U/node/values/x?cluster=$ST" -d '{"value":"v"}')
is "$st_put" 403 "a node cannot publish a value for another cluster"
like "$(api GET "/clusters/$ST/values")" "\"key\":\"test.addr\",\"value\":\"addr of $ST-head\",\"node\":\"$ST-head\"" \
	"operators list a cluster's values (GET /clusters/C/values)"
down "$OT"; down "$CC"; down "$ST"
is "$(api GET "/clusters/$ST/values")" '{"values":[]}' "a terminated cluster's values are gone"
