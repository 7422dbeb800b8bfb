#!/bin/bash
# The local provider on its own (no manager): a cluster network and three
# namespaced nodes made with tests/tools/nodectl; each node's hostname,
# address, /etc/hosts, sshd (ssh between nodes with a generated key), private
# /tmp and the propagation of host mounts into it; then destroy, after which
# nothing may be left: no process, namespace, veth, bridge or mount.
#
# Node state must live outside /tmp (every node mounts its own /tmp), so this
# test keeps its directory under /var/tmp.
export TMPDIR=/var/tmp
. "$(dirname "$0")/../lib.sh"
t_need_root
t_need_cmd ip sshd ssh ssh-keygen getent mountpoint

NODECTL="$TOOLS/nodectl"
br="stb$$"
t_track_link "$br"
t_on_cleanup "'$NODECTL' net-down '$br'"

# A /24 nobody routes yet, derived from our PID; net-up refuses overlaps.
x=$(( ($$ / 256) % 200 + 20 )); y=$(( $$ % 256 ))
for try in 0 1 2 3 4 5 6 7; do
	net="10.$x.$(( (y + try) % 256 ))"
	"$NODECTL" net-up "$br" "$net.1" 24 2>"$T/netup.err" && break
	grep -q overlaps "$T/netup.err" || break
done

plan 35

ok "the cluster network comes up on bridge '$br' ($net.0/24)" test -e "/sys/class/net/$br/bridge"
mac=$(cat "/sys/class/net/$br/address")
like "$mac" '^02:' "the bridge has a fixed, locally administered MAC"
ok "network_up again on the same bridge is fine (manager restart)" "$NODECTL" net-up "$br" "$net.1" 24
out=$("$NODECTL" net-up "stx$$" "$net.1" 24 2>&1); rc=$?
t_track_link "stx$$"
is "$rc:$(echo "$out" | grep -c overlaps)" "1:1" "a second network on the same subnet is refused, naming the overlap"

# A host mount made shared before the nodes exist must propagate into them.
mkdir -p "$T/shared" "$T/src"
mount --bind "$T/shared" "$T/shared" && mount --make-shared "$T/shared"
t_track_mount "$T/shared"

ssh-keygen -q -t ed25519 -N '' -C stratus-test -f "$T/id_cluster"
cp "$T/id_cluster.pub" "$T/authorized_keys"
names=(pn1-$$ pn2-$$ pn3-$$)
: >"$T/hosts"
for i in 0 1 2; do echo "$net.$((11 + i)) ${names[$i]}" >>"$T/hosts"; done

create() { # INDEX
	local n=${names[$1]}
	t_on_cleanup "'$NODECTL' destroy --handle '$T/$n.handle'"
	"$NODECTL" create --handle "$T/$n.handle" --name "$n" --ip "$net.$((11 + $1))" --prefix 24 \
		--gateway "$net.1" --bridge "$br" --state-dir "$T/$n" --hosts "$T/hosts" \
		--authorized-keys "$T/authorized_keys" --host-key-dir "$T/$n/ssh"
}
nexec() { local n=$1; shift; "$NODECTL" exec --handle "$T/$n.handle" -- "$@"; }

nok "a node whose state is under /tmp is refused" "$NODECTL" create --handle "$T/x.handle" \
	--name bad --ip "$net.99" --bridge "$br" --state-dir /tmp/stratus-bad-$$ --hosts "$T/hosts"
like "$("$NODECTL" create --handle "$T/x.handle" --name bad --ip "$net.99" --bridge "$br" \
	--state-dir /tmp/stratus-bad-$$ --hosts "$T/hosts" 2>&1)" "is under /tmp" "and the message says why"

t0=$(date +%s%N)
for i in 0 1 2; do ok "node ${names[$i]} is made with sshd in it" create $i; done
diag "3 nodes made in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
for i in 0 1 2; do ok "node ${names[$i]} is alive" "$NODECTL" alive --handle "$T/${names[$i]}.handle"; done

n1=${names[0]} n2=${names[1]} n3=${names[2]}
is "$(nexec "$n2" hostname)" "$n2" "the node's hostname is its name"
like "$(nexec "$n2" ip -4 -o addr show dev eth0)" "inet $net.12/24" "the node has its address on eth0"
is "$(nexec "$n1" getent hosts "$n3" | awk '{print $1}')" "$net.13" "a node resolves another by its /etc/hosts"

SSH=(ssh -F /dev/null -i "$T/id_cluster" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	-o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR)
is "$(nexec "$n1" "${SSH[@]}" "root@$n2" hostname)" "$n2" "ssh from $n1 to $n2 by name"
is "$(nexec "$n3" "${SSH[@]}" "root@$n1" hostname)" "$n1" "ssh from $n3 to $n1 by name"
ssh-keygen -q -t ed25519 -N '' -f "$T/id_other"
nok "ssh with a key that is not the cluster's is refused" nexec "$n1" ssh -F /dev/null -i "$T/id_other" \
	-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=5 \
	"root@$n2" true

nexec "$n1" sh -c "echo private >/tmp/only-$n1"
ok "a file in the node's /tmp lands in its own tmp directory" test -f "$T/$n1/tmp/only-$n1"
nok "another node does not see it" nexec "$n2" test -e "/tmp/only-$n1"
nok "the host's /tmp does not see it" test -e "/tmp/only-$n1"

mkdir -p "$T/shared/sub" && echo through >"$T/src/f" && mount --bind "$T/src" "$T/shared/sub"
t_track_mount "$T/shared/sub"
is "$(nexec "$n2" cat "$T/shared/sub/f")" "through" "a host mount made after the node started propagates into it"
mkdir -p "$T/inside"
nexec "$n1" mount -t tmpfs nodefs "$T/inside"
ok "a mount made inside a node is seen inside it" nexec "$n1" mountpoint -q "$T/inside"
nok "and not on the host" mountpoint -q "$T/inside"

is "$(nexec "$n1" sh -c 'exit 7'; echo $?)" "7" "exec gives back the command's exit status"

# PID reuse: a handle whose pid is some other live process is not alive.
sed "s/^holder_pid .*/holder_pid $$/" "$T/$n1.handle" >"$T/fake.handle"
nok "a handle pointing at a process outside the node is not alive" "$NODECTL" alive --handle "$T/fake.handle"

nok "the network cannot be taken down while nodes are attached" "$NODECTL" net-down "$br"

# Destroy n1 with a detached process and a mount inside: all must go.
nexec "$n1" setsid sh -c 'sleep 1000 </dev/null >/dev/null 2>&1 &'
netns1=$(awk '$1=="netns"{print $2}' "$T/$n1.handle"); veth1=$(awk '$1=="veth"{print $2}' "$T/$n1.handle")
holder1=$(awk '$1=="holder_pid"{print $2}' "$T/$n1.handle")
mntns1=$(readlink "/proc/$holder1/ns/mnt")
pids1=$("$NODECTL" pids --handle "$T/$n1.handle" | tr '\n' ' ')
diag "node $n1 runs pids: $pids1"
ok "destroy stops node $n1" "$NODECTL" destroy --handle "$T/$n1.handle"
gone=1; for p in $pids1; do [ -d "/proc/$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] && gone=0; done
is "$gone" 1 "every process that ran in the node is gone"
nok "its network namespace is gone" test -e "/run/netns/$netns1"
nok "its veth is gone" test -e "/sys/class/net/$veth1"
left=0; for f in /proc/[0-9]*/ns/mnt; do [ "$(readlink "$f" 2>/dev/null)" = "$mntns1" ] && left=$((left + 1)); done
is "$left" 0 "no process holds its mount namespace (its mounts died with it)"
ok "destroy again is a no-op" "$NODECTL" destroy --handle "$T/$n1.handle"
nok "a destroyed node is not alive" "$NODECTL" alive --handle "$T/$n1.handle"

for n in "$n2" "$n3"; do "$NODECTL" destroy --handle "$T/$n.handle"; done
"$NODECTL" net-down "$br"
leftover=$( (ip netns list; ip -o link) | grep -cE "st-pn[123]-$$-|$br" )
is "$leftover" 0 "after destroying every node and the network, no namespace or link of ours is left"
