# tests/web/web-lib.sh: what the browser tests' .t wrappers share, sourced
# after tests/lib.sh: skip with a reason when the browser or stratusd is not
# there, start a real stratusd on a free port with its own state directory and
# an admin user, and run one node test file whose TAP becomes the file's.

WEB_DIR="$TOP/tests/web"

web_need() {
	t_need_cmd node
	[ -x /usr/bin/chromium ] || skip_all "Debian's chromium is not installed; run scripts/install-deps"
	[ -f "$WEB_DIR/node_modules/playwright-core/package.json" ] ||
		skip_all "playwright-core is not installed; run scripts/install-deps (npm ci in tests/web)"
	[ -x "$BIN/stratusd" ] || skip_all "stratusd is not built (make)"
}

# web_netns: when root, give the browser a network namespace of its own,
# joined to the host by one veth pair (198.19.0.0/16, the benchmarking range,
# a /30 per run).  Chromium aborts every request in flight
# (ERR_NETWORK_CHANGED) whenever an interface of its namespace changes, and
# on the host they change all the time: each node made by stratusd (in this
# test or any other running at the same time) adds a veth.  Sets WEB_NS and
# WEB_HOST_IP (the host's end, where stratusd is reached); without root both
# stay empty and the browser runs on the host.
web_netns() {
	WEB_NS="" WEB_HOST_IP=127.0.0.1
	[ "$(id -u)" = 0 ] || return 0
	local a=$(( ($$ >> 6) & 255 )) b=$(( ($$ & 63) * 4 ))
	local ns="webns$$" h="wbh$$" c="wbc$$"
	ip netns add "$ns" || bail "cannot make network namespace '$ns'"
	t_track_netns "$ns"
	# No IPv6: its link-local address would arrive a second after the link
	# is up, a change Chromium would answer by dropping requests.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip link add "$h" type veth peer name "$c" netns "$ns" || bail "cannot make veth '$h'"
	t_track_link "$h"
	ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$c.disable_ipv6=1" 2>/dev/null
	ip addr add "198.19.$a.$((b + 1))/30" dev "$h" && ip link set "$h" up &&
		ip -n "$ns" addr add "198.19.$a.$((b + 2))/30" dev "$c" && ip -n "$ns" link set "$c" up &&
		ip -n "$ns" link set lo up || bail "cannot set up the browser's network namespace"
	WEB_NS=$ns WEB_HOST_IP="198.19.$a.$((b + 1))"
}

# web_start_stratusd [extra flags...]: sets STRATUS_URL, STRATUS_USER,
# STRATUS_PASSWORD, WEB_STATE; stratusd's log is $T/stratusd.log.
web_start_stratusd() {
	WEB_STATE="$T/state"
	STRATUS_USER=admin
	STRATUS_PASSWORD="pw-$$-$RANDOM$RANDOM"
	mkdir -p "$WEB_STATE"
	printf '%s\n' "$STRATUS_PASSWORD" >"$T/admin.pw"
	"$BIN/stratusd" --state-dir "$WEB_STATE" --init-admin "$STRATUS_USER" --password-file "$T/admin.pw" \
		>"$T/init-admin.log" 2>&1 || bail "stratusd --init-admin failed: $(tail -n 3 "$T/init-admin.log")"
	web_netns
	t_start stratusd "$BIN/stratusd" --state-dir "$WEB_STATE" --listen "$WEB_HOST_IP" --port 0 \
		--port-file "$T/port" --web-dir "$TOP/web" --retry-max 0 "$@"
	t_wait 30 "stratusd's port file" test -s "$T/port" ||
		bail "stratusd did not start: $(tail -n 5 "$T/stratusd.log")"
	STRATUS_URL="https://$WEB_HOST_IP:$(cat "$T/port")/"
	t_wait 20 "stratusd answers" curl -sk -o /dev/null "$STRATUS_URL" ||
		bail "stratusd does not answer on $STRATUS_URL"
	export STRATUS_URL STRATUS_USER STRATUS_PASSWORD
}

# web_run FILE.test.js: run it with Chromium; its TAP is this file's output.
# Screenshots go to $BUILD/test-logs/web/<test name>/ (kept after the run).
web_run() {
	WEB_OUT="$BUILD/test-logs/web/$T_NAME"
	rm -rf "$WEB_OUT"
	mkdir -p "$WEB_OUT" "$T/chromium"
	if [ -n "$WEB_NS" ]; then
		WEB_PROFILE="$T/chromium" WEB_OUT="$WEB_OUT" ip netns exec "$WEB_NS" node "$WEB_DIR/$1"
	else
		WEB_PROFILE="$T/chromium" WEB_OUT="$WEB_OUT" node "$WEB_DIR/$1"
	fi
}

# web_api METHOD PATH [curl args...]: call the API with the admin's token
# (web_login_token first); prints the body, fails on HTTP >= 400.
web_login_token() {
	WEB_TOKEN=$(curl -sSk --fail-with-body -H 'Content-Type: application/json' \
		-d "{\"username\":\"$STRATUS_USER\",\"password\":\"$STRATUS_PASSWORD\"}" \
		"${STRATUS_URL}api/v1/login" | sed -n 's/.*"token":"\([0-9a-f]*\)".*/\1/p')
	[ -n "$WEB_TOKEN" ] || bail "cannot get an API token from $STRATUS_URL"
}
web_api() {
	local method=$1 path=$2; shift 2
	curl -sSk --fail-with-body -X "$method" -H "Authorization: Bearer $WEB_TOKEN" "$@" \
		"${STRATUS_URL}api/v1$path"
}

# web_cleanup_cluster NAME: at cleanup, before stratusd is stopped, terminate
# the cluster and wait (up to 60 s) until none of its nodes is left running,
# so a failed test leaves no namespace behind.
web_cleanup_cluster() {
	t_on_cleanup "web_api POST /clusters/$1/terminate -d '{}' >/dev/null 2>&1; t_wait 60 'nodes of $1 off' web_cluster_down $1"
}
web_cluster_down() {
	local j
	j=$(web_api GET "/clusters/$1/nodes") || return 0
	! printf '%s' "$j" | grep -Eq '"state":"(Acquiring|Preparing|Ready|Terminating|Failed)"'
}
