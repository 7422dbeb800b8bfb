# tests/lib.sh: what every end-to-end test script sources.
#
#   . "$(dirname "$0")/../lib.sh"
#   plan 3
#   t_start echo "$TOOLS/echo-server" --port-file "$T/port"
#   t_wait 10 "echo-server listening" test -s "$T/port"
#   ok "echo answers" sh -c '...'
#
# It gives each test a temporary directory ($T), starts processes whose PIDs
# it records, polls for readiness (never sleeps as synchronisation), prints
# TAP, and in an EXIT trap stops only what it started (by PID), unmounts what
# it mounted, deletes the namespaces and links it made, and removes $T (kept,
# with its path printed, when a test failed or T_KEEP=1).

set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
BIN="$BUILD/bin"
TOOLS="$BUILD/tests/tools"
export PATH="$BIN:$PATH"

T=$(mktemp -d "${TMPDIR:-/tmp}/stratus-test.XXXXXX")
T_NAME=$(basename "$0" .t)
_t_count=0
_t_failed=0
_t_planned=""
_t_pids=()
_t_mounts=()
_t_netns=()
_t_links=()
_t_cleanups=()

# ---- TAP ----
plan() { _t_planned=$1; echo "1..$1"; }
diag() { local l; printf '%s\n' "$@" | while IFS= read -r l; do echo "# $l"; done; }
_t_result() { # status description
	_t_count=$((_t_count + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_t_count - $2"
	else
		echo "not ok $_t_count - $2"
		# A point marked "# TODO why" is a known bug: shown, not counted.
		case "$2" in *"# TODO"*) ;; *) _t_failed=$((_t_failed + 1)) ;; esac
	fi
}
# ok DESC CMD...: passes when CMD exits 0; its output is shown only on failure.
ok() {
	local desc=$1; shift
	local out rc
	out=$("$@" 2>&1); rc=$?
	_t_result $rc "$desc"
	[ $rc -eq 0 ] || diag "command: $*" "exit: $rc" "$out"
	return $rc
}
# nok DESC CMD...: passes when CMD fails.
nok() {
	local desc=$1; shift
	local out rc
	out=$("$@" 2>&1); rc=$?
	if [ $rc -ne 0 ]; then _t_result 0 "$desc"; else _t_result 1 "$desc"; diag "command unexpectedly succeeded: $*" "$out"; fi
	[ $rc -ne 0 ]
}
# is GOT EXPECTED DESC
is() {
	if [ "$1" = "$2" ]; then _t_result 0 "$3"; else _t_result 1 "$3"; diag "got:      '$1'" "expected: '$2'"; fi
	[ "$1" = "$2" ]
}
# like GOT REGEX DESC
like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then _t_result 0 "$3"; else _t_result 1 "$3"; diag "got:      '$1'" "expected to match: $2"; fi
}
pass() { _t_result 0 "$1"; }
fail() { _t_result 1 "$1"; shift; [ $# -gt 0 ] && diag "$@"; return 1; }
skip() { _t_count=$((_t_count + 1)); echo "ok $_t_count # SKIP $1"; }
# skip_all REASON: the whole file cannot run here; exits.
skip_all() { echo "1..0 # SKIP $1"; exit 0; }
# bail REASON: stop this file at once (set-up failed); counted as a failure.
bail() { echo "Bail out! $*"; _t_failed=$((_t_failed + 1)); exit 1; }
done_testing() { [ -n "$_t_planned" ] || echo "1..$_t_count"; }

# ---- processes ----
# t_start NAME CMD...: run CMD in the background, output in $T/NAME.log.
# Sets T_PID to its PID.
t_start() {
	local name=$1; shift
	"$@" >"$T/$name.log" 2>&1 &
	T_PID=$!
	_t_pids+=("$T_PID")
	eval "PID_${name//[^A-Za-z0-9_]/_}=$T_PID"
}
# t_register_pid PID: stop it at cleanup too (for daemons that fork).
t_register_pid() { _t_pids+=("$1"); }
# t_stop PID [SIGNAL]: stop one process we started, wait for it to go.
t_stop() {
	local pid=$1 sig=${2:-TERM} i
	kill -"$sig" "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		# A zombie that is not our child counts as gone.
		[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ] && return 0
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}
# t_wait SECONDS DESC CMD...: poll CMD every 50 ms until it succeeds.
t_wait() {
	local secs=$1 desc=$2; shift 2
	local deadline=$(( $(date +%s%N) / 1000000 + secs * 1000 ))
	while ! "$@" >/dev/null 2>&1; do
		if [ $(( $(date +%s%N) / 1000000 )) -ge $deadline ]; then
			diag "timed out after ${secs}s waiting for: $desc"
			return 1
		fi
		sleep 0.05
	done
	return 0
}
# t_free_port: a TCP port nobody listens on now (the kernel's pick).
t_free_port() { "$TOOLS/free-port"; }

# ---- things to undo ----
t_track_mount() { _t_mounts+=("$1"); }
t_track_netns() { _t_netns+=("$1"); }
t_track_link() { _t_links+=("$1"); }
# t_on_cleanup CMD: run CMD (a string, eval'd) at cleanup, last registered first.
t_on_cleanup() { _t_cleanups+=("$1"); }
t_need_root() { [ "$(id -u)" = 0 ] || skip_all "needs root (namespaces, mounts)"; }
t_need_cmd() { local c; for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip_all "'$c' is not installed; run scripts/install-deps"; done; }

_t_cleanup() {
	local rc=$? i
	set +e
	for ((i = ${#_t_cleanups[@]} - 1; i >= 0; i--)); do eval "${_t_cleanups[$i]}" >/dev/null 2>&1; done
	for ((i = ${#_t_mounts[@]} - 1; i >= 0; i--)); do
		if mountpoint -q "${_t_mounts[$i]}" 2>/dev/null; then
			fusermount3 -u "${_t_mounts[$i]}" 2>/dev/null || umount "${_t_mounts[$i]}" 2>/dev/null || umount -l "${_t_mounts[$i]}" 2>/dev/null
		fi
	done
	for ((i = ${#_t_pids[@]} - 1; i >= 0; i--)); do t_stop "${_t_pids[$i]}"; done
	for i in "${_t_netns[@]}"; do ip netns del "$i" 2>/dev/null; done
	for i in "${_t_links[@]}"; do ip link del "$i" 2>/dev/null; done
	if [ $_t_failed -ne 0 ] || [ $rc -ne 0 ] || [ "${T_KEEP:-0}" = 1 ]; then
		echo "# logs kept in $T"
		for i in "$T"/*.log; do
			[ -f "$i" ] || continue
			echo "# --- tail of $i"
			tail -n 15 "$i" | sed 's/^/#   /'
		done
	else
		rm -rf "$T"
	fi
	[ $_t_failed -eq 0 ] || exit 1
	exit $rc
}
trap _t_cleanup EXIT
# A test that hangs is stopped (and cleaned up) after T_TIMEOUT seconds.
(
	exec >/dev/null 2>&1
	trap 'kill $_t_sleep; exit 0' TERM
	sleep "${T_TIMEOUT:-900}" & _t_sleep=$!
	wait $_t_sleep && kill -TERM $$
) &
_t_watchdog=$!
t_on_cleanup "kill $_t_watchdog"
trap 'exit 130' INT TERM
