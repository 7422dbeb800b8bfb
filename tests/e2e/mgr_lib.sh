# tests/e2e/mgr_lib.sh: what the mgr_*.t tests share: start a stratusd of
# their own (state under $MGR_STATE, a free port, a network range picked from
# the test's PID), make its admin, and point the CLI at it through
# $STRATUS_CONFIG.  Source after tests/lib.sh.

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
