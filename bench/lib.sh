# bench/lib.sh: what the benchmark scripts share: where the tools are, the
# MPI environment, running stratus-ior / stratus-mdtest and reading their
# JSON, medians, dropping caches, and a clean-up list that stops only what
# the script started (by PID), unmounts what it mounted and deletes the
# namespaces it made, even when the script fails or is interrupted.
#
#   . "$(dirname "$0")/lib.sh"
set -u

BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$BENCH_TOP/build}
BIN=$BUILD/bin
IOR=$BIN/stratus-ior
MDTEST=$BIN/stratus-mdtest
NP=${NP:-4}

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1

say() { printf '%s\n' "$*" >&2; }
die() { say "$(basename "$0"): error: $*"; exit 1; }

# ---- clean-up ----
_b_pids=()
_b_mounts=()
_b_netns=()
_b_cleanups=()
_b_finals=()
b_track_pid() { _b_pids+=("$1"); }
b_track_mount() { _b_mounts+=("$1"); }
b_track_netns() { _b_netns+=("$1"); }
b_on_cleanup() { _b_cleanups+=("$1"); }
# b_on_final CMD: run after everything else is stopped and unmounted (e.g. rm -rf of the work dir).
b_on_final() { _b_finals+=("$1"); }
b_stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 200); do
		kill -0 "$pid" 2>/dev/null || break
		[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ] && break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}
b_unmount() {
	mountpoint -q "$1" 2>/dev/null || return 0
	fusermount3 -u "$1" 2>/dev/null || umount "$1" 2>/dev/null || umount -l "$1" 2>/dev/null
}
_b_cleanup() {
	local i
	set +e
	for ((i = ${#_b_cleanups[@]} - 1; i >= 0; i--)); do eval "${_b_cleanups[$i]}" >/dev/null 2>&1; done
	for ((i = ${#_b_mounts[@]} - 1; i >= 0; i--)); do b_unmount "${_b_mounts[$i]}"; done
	for ((i = ${#_b_pids[@]} - 1; i >= 0; i--)); do b_stop_pid "${_b_pids[$i]}"; done
	for i in "${_b_netns[@]}"; do ip netns del "$i" 2>/dev/null; done
	for i in "${_b_finals[@]}"; do eval "$i" >/dev/null 2>&1; done
}
trap _b_cleanup EXIT
trap 'exit 130' INT TERM

# b_wait SECONDS CMD...: poll CMD every 100 ms.
b_wait() {
	local secs=$1; shift
	local end=$(( $(date +%s) + secs ))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# ---- measuring ----
b_need_tools() {
	[ -x "$IOR" ] && [ -x "$MDTEST" ] || die "build the benchmarks first: make (in $BENCH_TOP)"
	command -v mpirun >/dev/null || die "mpirun is missing: apt-get install openmpi-bin"
	[ "$(id -u)" = 0 ] || die "run as root: it mounts file systems and drops the page cache"
}

b_drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
# b_quiesce [MAX_S]: wait (at most MAX_S seconds, default 60) until, over
# one second, the CPUs were at least 85% idle and no disk was busy for more
# than 5% of it: what the previous file system still does in the background
# after its run (MooseFS deleting chunks, StratusFS destroying objects, and
# the disk discarding the freed blocks, which takes seconds on a file system
# mounted with `discard' and uses no CPU) must not be charged to the next one.
b_quiesce() {
	local max=${1:-60} i a b d1 d2
	for ((i = 0; i < max; i++)); do
		read -r -a a < <(grep '^cpu ' /proc/stat)
		d1=$(_b_disk_busy_ms)
		sleep 1
		read -r -a b < <(grep '^cpu ' /proc/stat)
		d2=$(_b_disk_busy_ms)
		local tot=0 k
		for k in 1 2 3 4 5 6 7 8; do tot=$((tot + b[k] - a[k])); done
		[ "$tot" -gt 0 ] && [ $(((b[4] - a[4]) * 100 / tot)) -ge 85 ] && [ $((d2 - d1)) -le 50 ] && return 0
	done
	say "the machine did not become idle within ${max}s; measuring anyway"
	return 0
}
# _b_disk_busy_ms: milliseconds the whole disks have spent doing I/O
# (the 13th field of /proc/diskstats), summed over them.
_b_disk_busy_ms() {
	awk '$3 ~ /^(vd[a-z]+|sd[a-z]+|xvd[a-z]+|nvme[0-9]+n[0-9]+)$/ { t += $13 } END { print t + 0 }' /proc/diskstats
}

# b_mpi CMD...: mpirun -np $NP CMD, at most BENCH_RUN_TIMEOUT seconds.
b_mpi() { timeout -k 10 "${BENCH_RUN_TIMEOUT:-1800}" mpirun -np "$NP" --oversubscribe "$@"; }

# b_json_num FILE KEY: the number after "KEY": in FILE (first match).
b_json_num() { grep -o "\"$2\": [-0-9.e+]*" "$1" | head -n 1 | awk '{print $2}'; }
# b_mdtest_mean FILE OPERATION: mean rate of that row of a stratus-mdtest JSON.
b_mdtest_mean() { grep "\"operation\": \"$2\"" "$1" | grep -o '"mean": [0-9.]*' | awk '{print $2}'; }

# b_median V...: the median of the numbers given (the lower middle for an even count).
b_median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]}'; }
# b_ratio A B: A/B with 2 decimals, or "-" when either is missing or B is 0.
b_ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'; }

# b_ior_write_read DIR NAME LOG ARGS...: IOR write (-e, kept), drop caches,
# IOR read; prints "WRITE_MIB READ_MIB"; removes the files.
b_ior_write_read() {
	local dir=$1 name=$2 log=$3; shift 3
	local wj=$log.write.json rj=$log.read.json
	b_mpi "$IOR" -w -e -k "$@" -o "$dir/$name" --json="$wj" >>"$log" 2>&1 || { say "IOR write failed in $dir: see $log"; return 1; }
	b_drop_caches
	b_mpi "$IOR" -r -k "$@" -o "$dir/$name" --json="$rj" >>"$log" 2>&1 || { say "IOR read failed in $dir: see $log"; return 1; }
	rm -f "$dir/$name" "$dir/$name".[0-9]*
	echo "$(b_json_num "$wj" maxWriteMiB) $(b_json_num "$rj" maxReadMiB)"
}
