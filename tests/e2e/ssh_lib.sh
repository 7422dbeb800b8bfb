# tests/e2e/ssh_lib.sh: "existing machines" for the ssh provider's tests, and
# a stratusd to drive them.  Source after tests/lib.sh.
#
# A machine is what an operator would hand Stratus: its own network stack (a
# network namespace on a bridge of the test's own), hostname, process table
# (PID namespace), /etc/hosts, /tmp, /opt and /root (bind mounts of the
# test's directories), and an sshd with its own host key that lets in the pool's key
# only.  The manager reaches it through ssh alone.  Everything is named after
# the test's PID and stops with the test.  With SSH_PRIVATE_DATA set to a path
# (an empty folder of the host), each machine also gets its own folder there
# ($T/mI/data), so that no folder is shared between machines.

SSH_NET=""      # 10.X.Y: the machines' /24
SSH_BR=""

# ssh_net_up: the bridge (host side .1, which is the manager's address for the machines).
ssh_net_up() {
	local x y try
	x=$(( ($$ / 256) % 200 + 20 )); y=$(( ($$ * 7 + 13) % 256 ))
	for try in 0 1 2 3 4 5 6 7 8 9; do
		SSH_NET="10.$x.$(( (y + try * 37) % 256 ))"
		ip -4 route show | grep -q "^$SSH_NET\." || break
	done
	SSH_BR="ssb$$"
	ip link add "$SSH_BR" type bridge || return 1
	t_track_link "$SSH_BR"
	ip link set "$SSH_BR" address "02:5e:$(printf '%02x:%02x:%02x:%02x' $(( $$ >> 24 & 255 )) $(( $$ >> 16 & 255 )) $(( $$ >> 8 & 255 )) $(( $$ & 255 )))" &&
	ip addr add "$SSH_NET.1/24" dev "$SSH_BR" && ip link set "$SSH_BR" up
}

# ssh_machine_up I: machine I at $SSH_NET.(10+I), hostname machineI; sets M_PID[I] (unshare's pid).
declare -A M_PID
ssh_machine_up() {
	local i=$1 ns="ssm$$-$1" veth="ssv$$x$1" M="$T/m$1"
	local ip="$SSH_NET.$((10 + i))"
	mkdir -p "$M/tmp" "$M/opt" "$M/root" "$M/data" && chmod 1777 "$M/tmp" && chmod 0700 "$M/root" &&
		chmod 0755 "$M/data" || return 1
	cp /etc/hosts "$M/hosts" && cp "$M/hosts" "$M/hosts.orig" || return 1
	[ -f "$M/hostkey" ] || ssh-keygen -q -t ed25519 -N '' -C "machine$i" -f "$M/hostkey" || return 1
	cp "$T/poolkey.pub" "$M/authorized_keys" || return 1
	cat >"$M/sshd_config" <<EOF
ListenAddress $ip:22
HostKey $M/hostkey
PidFile $M/sshd.pid
AuthorizedKeysFile $M/authorized_keys .ssh/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
StrictModes no
EOF
	if [ ! -e "/run/netns/$ns" ]; then
		ip netns add "$ns" || return 1
		t_track_netns "$ns"
		ip link add "$veth" type veth peer name eth0 netns "$ns" || return 1
		t_track_link "$veth"
		ip link set "$veth" master "$SSH_BR" up && ip -n "$ns" addr add "$ip/24" dev eth0 &&
			ip -n "$ns" link set eth0 up && ip -n "$ns" link set lo up || return 1
	fi
	mkdir -p /run/sshd
	rm -f "$M/sshd.pid"
	cat >"$M/boot.sh" <<EOF
set -e
mount --bind "$M/hosts" /etc/hosts
mount --bind "$M/tmp" /tmp
mount --bind "$M/opt" /opt
mount --bind "$M/root" /root
${SSH_PRIVATE_DATA:+mount --bind "$M/data" "$SSH_PRIVATE_DATA"}
hostname machine$i
/usr/sbin/sshd -f "$M/sshd_config" -E "$M/sshd.log"
trap 'exit 0' TERM
while :; do sleep 1 & wait \$! || true; done
EOF
	t_start "machine$i" nsenter --net="/run/netns/$ns" unshare --uts --mount --propagation private \
		--pid --fork --kill-child --mount-proc /bin/bash "$M/boot.sh"
	M_PID[$i]=$T_PID
	t_wait 10 "sshd of machine$i" test -s "$M/sshd.pid"
}

# m_init_pid I: the host pid of machine I's init (the child of unshare).
m_init_pid() { cat "/proc/${M_PID[$1]}/task/${M_PID[$1]}/children" 2>/dev/null | awk '{print $1}'; }
# m_exec I CMD...: run CMD in machine I (all its namespaces).
m_exec() { local i=$1; shift; nsenter -t "$(m_init_pid "$i")" -n -u -m -p --wd=/ "$@"; }
# m_stop_sshd I: stop machine I's sshd (the machine and what runs on it stay).
m_stop_sshd() { m_exec "$1" sh -c 'kill "$(cat "$1")"' sh "$T/m$1/sshd.pid"; }

# m_clean I: what a test expects of a machine given back: nothing of ours.
m_clean() {
	local i=$1 M="$T/m$1"
	[ -z "$(ls -A "$M/opt")" ] || { echo "machine$i: /opt holds $(ls -A "$M/opt")"; return 1; }
	[ -z "$(ls -A "$M/root")" ] || { echo "machine$i: /root holds $(ls -A "$M/root")"; return 1; }
	cmp -s "$M/hosts" "$M/hosts.orig" || { echo "machine$i: /etc/hosts differs:"; diff "$M/hosts.orig" "$M/hosts"; return 1; }
	[ "$(m_exec "$i" hostname)" = "machine$i" ] || { echo "machine$i: hostname is $(m_exec "$i" hostname)"; return 1; }
	# Its processes: init, its sleep, sshd (and nothing started by us).  What
	# runs under an sshd session is the manager's probe of the moment (it
	# checks free hosts too), not something left behind.
	local procs
	procs=$(m_exec "$i" ps -e -o pid=,ppid=,comm= | awk '
		{ par[$1] = $2; comm[$1] = $3; pids[NR] = $1 }
		END {
			for (k = 1; k <= NR; k++) {
				p = pids[k]; c = comm[p]; s = 0
				for (q = par[p]; q > 1 && (q in comm); q = par[q]) if (comm[q] == "sshd") s = 1
				if (!s && c !~ /^(bash|sleep|sshd|ps|awk)$/) print c
			}
		}' || true)
	[ -z "$procs" ] || { echo "machine$i: stray processes: $procs"; return 1; }
	[ -z "$(m_exec "$i" sh -c 'grep -l STRATUS_HOST_TAG /proc/[0-9]*/environ 2>/dev/null')" ] ||
		{ echo "machine$i: a process with our tag is left"; return 1; }
	local mounts
	mounts=$(m_exec "$i" awk '{print $5}' /proc/self/mountinfo | grep -vxE '/|/etc/hosts|/tmp|/opt|/root|/proc|/run/netns.*' | wc -l)
	[ "$mounts" -le "${M_MOUNTS0[$i]:-$mounts}" ] || { echo "machine$i: $mounts mounts, had ${M_MOUNTS0[$i]}"; return 1; }
	return 0
}
declare -A M_MOUNTS0
m_count_mounts() {
	M_MOUNTS0[$1]=$(m_exec "$1" awk '{print $5}' /proc/self/mountinfo | grep -vxE '/|/etc/hosts|/tmp|/opt|/root|/proc|/run/netns.*' | wc -l)
}

# jpath PATH: a value out of the JSON on stdin ("nodes.0.state").
jpath() {
	perl -MJSON::PP -e '$d = decode_json(join("", <STDIN>));
		for $k (split /\./, $ARGV[0]) { $d = ref($d) eq "ARRAY" ? $d->[$k] : $d->{$k} }
		print ref($d) ? JSON::PP->new->canonical->encode($d) : (defined $d ? $d : ""), "\n"' "$1"
}

# ssh_manager_up [STRATUSD-ARGS...]: the test's own stratusd (state in $T/state,
# admin password in $T/pw) on a free /24 of its own for the nodes ($net), and
# the CLI logged in to it ($STRATUS_CONFIG).  Sets S, net, U, CURL, token and
# api METHOD PATH [curl args] for the REST API.  Bails out on any failure.
ssh_manager_up() {
	local x y try
	S="$T/state"
	mkdir -p "$S"
	echo "pw-$$-$RANDOM" >"$T/pw"
	"$BIN/stratusd" --state-dir "$S" --init-admin admin --password-file "$T/pw" >/dev/null 2>&1 || bail "init-admin failed"
	x=$(( ($$ / 256) % 200 + 20 )); y=$(( ($$ + 101) % 256 ))
	for try in 0 1 2 3 4 5 6 7; do
		net="10.$x.$(( (y + try) % 256 ))"
		[ "$net" != "$SSH_NET" ] && ! ip -4 route show | grep -q "^$net\." && break
	done
	t_start stratusd "$BIN/stratusd" --state-dir "$S" --port 0 --port-file "$T/port" --network "$net.0/24" "$@" --log-level debug
	t_wait 20 "stratusd port file" test -s "$T/port" || bail "stratusd did not start"
	U="https://127.0.0.1:$(cat "$T/port")/api/v1"
	CURL=(curl -sS --max-time 60 --noproxy '*' --cacert "$S/tls/cert.pem")
	token=$("${CURL[@]}" -X POST "$U/login" -d "{\"username\":\"admin\",\"password\":\"$(cat "$T/pw")\"}" | jpath token)
	export STRATUS_CONFIG="$T/cli/config.ini"
	stratus initialize --batch --url "https://127.0.0.1:$(cat "$T/port")" --username admin --password-file "$T/pw" \
		--ca "$S/tls/cert.pem" >/dev/null || bail "stratus initialize failed"
}
api() { local m=$1 p=$2; shift 2; "${CURL[@]}" -H "Authorization: Bearer $token" -X "$m" "$U$p" "$@"; }
