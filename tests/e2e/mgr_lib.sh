# tests/e2e/mgr_lib.sh: what the mgr_*.t tests share: start a stratusd of
# their own (state under $MGR_STATE, a free port, a network range picked from
# the test's PID), make its admin, and point the CLI at it through
# $STRATUS_CONFIG.  Source after tests/lib.sh.

# mgr_need_nodes [COMMAND...]: skip the test unless it can make real nodes:
# root, ip, curl, perl, sqlite3 and the COMMANDs, sshd, and the agent.
mgr_need_nodes() {
	t_need_root
	t_need_cmd ip curl perl sqlite3 "$@"
	[ -x /usr/sbin/sshd ] || skip_all "sshd is not installed; run scripts/install-deps"
	[ -x "$BIN/stratus-node" ] || skip_all "stratus-node (the agent) is not built"
}

# mgr_start [STATE_DIR] [extra stratusd flags...]: start and wait until it listens.
mgr_start() {
	MGR_STATE=${1:-$T/state}; shift || true
	mkdir -p "$MGR_STATE"
	if [ ! -e "$MGR_STATE/stratus.db" ]; then
		echo "admin-pw-$$" >"$T/admin.pw"
		stratusd --state-dir "$MGR_STATE" --init-admin admin --password-file "$T/admin.pw" >/dev/null || return 1
	fi
	rm -f "$T/port"
	t_start stratusd stratusd --state-dir "$MGR_STATE" --web-dir "$TOP/web" --port "${MGR_PORT_FIXED:-0}" --port-file "$T/port" \
		--listen 0.0.0.0 --network "${MGR_NET:-10.$((100 + $$ % 100)).0.0/16}" "$@"
	MGR_PID=$T_PID
	t_wait 20 "stratusd listening" test -s "$T/port" || return 1
	MGR_PORT=$(cat "$T/port")
	MGR_URL="https://127.0.0.1:$MGR_PORT"
	export STRATUS_CONFIG="$T/cli/config.ini"
}

# mgr_login: initialize the CLI (pinning the manager's certificate).
mgr_login() {
	stratus initialize --batch --url "$MGR_URL" --username admin --password-file "$T/admin.pw" \
		--ca "$MGR_STATE/tls/cert.pem" >/dev/null
}

# mgr_token: the CLI's token, for curl.
mgr_token() { sed -n 's/^token = //p' "$STRATUS_CONFIG"; }

# mgr_curl METHOD PATH [curl args...]: prints the HTTP status, body in $T/body.
mgr_curl() {
	local m=$1 p=$2; shift 2
	curl -s -o "$T/body" -w '%{http_code}' --noproxy '*' --cacert "$MGR_STATE/tls/cert.pem" \
		-X "$m" "$MGR_URL/api/v1$p" "$@"
}

# mgr_node_state CLUSTER NODE: the node's state, from the CLI.
mgr_node_state() {
	stratus show_nodes "$1" --format json | NODE=$2 perl -MJSON::PP -0e \
		'my $a = decode_json(<STDIN>); for (@$a) { print $_->{state} if $_->{name} eq $ENV{NODE} }'
}

# mgr_is CLUSTER NODE STATE: is the node in that state now?
mgr_is() { [ "$(mgr_node_state "$1" "$2")" = "$3" ]; }

# mgr_count CLUSTER STATE [FILTER]: how many nodes are in STATE.
mgr_count() {
	local f=(); [ -n "${3:-}" ] && f=(--filter "$3")
	stratus show_nodes "$1" "${f[@]}" --format json | S=$2 perl -MJSON::PP -0e \
		'my $a = decode_json(<STDIN>); print scalar grep { $_->{state} eq $ENV{S} } @$a'
}

# mgr_count_is CLUSTER STATE N [FILTER]: for t_wait (evaluated on every poll).
mgr_count_is() { [ "$(mgr_count "$1" "$2" "${4:-}")" = "$3" ]; }

# mgr_cleanup STATE CLUSTER...: a test's clean-up trap (t_on_cleanup).  It
# terminates the clusters (--force: nothing is to be kept) and waits up to
# 15 s until every cluster of this stratusd is Off; then, as a safety net
# where stratusd could not, it kills and removes what is left of the
# clusters' node namespaces (st-CLUSTER-*) and this stratusd's bridges (named
# after its instance id), and removes STATE.
mgr_cleanup() {
	local state=$1 inst c i ns p br; shift
	inst=$(sqlite3 "$state/stratus.db" "SELECT value FROM meta WHERE key='instance'" 2>/dev/null)
	for c in "$@"; do stratus terminate_cluster "$c" --force >/dev/null 2>&1; done
	for i in $(seq 1 150); do
		[ "$(sqlite3 "$state/stratus.db" "SELECT COUNT(*) FROM clusters WHERE state <> 'Off'" 2>/dev/null)" = 0 ] && break
		sleep 0.1
	done
	for c in "$@"; do
		for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^st-$c-"); do
			for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
			ip netns del "$ns" 2>/dev/null
		done
	done
	if [ -n "$inst" ]; then
		for br in $(ip -o link show type bridge 2>/dev/null | awk -F': ' '{print $2}' | grep "^sb$inst-"); do
			ip link del "$br" 2>/dev/null
		done
	fi
	rm -rf "$state"
}
