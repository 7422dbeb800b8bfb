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

plan 52

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
		--authorized-keys "$T/authorized_keys" --host-key-dir "$T/$n/ssh" --ssh-key "$T/id_cluster"
}
nexec() { local n=$1; shift; "$NODECTL" exec --handle "$T/$n.handle" -- "$@"; }
all_gone() { local p; for p in "$@"; do [ -d "/proc/$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] && return 1; done; return 0; }
# Live processes (zombies hold no namespace; init reaps orphans slowly here) in mount namespace $1.
ns_users() {
	local p n=0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$1" ] && [ "$(awk '{print $3}' "$p/stat" 2>/dev/null)" != Z ] &&
			{ n=$((n + 1)); diag "pid ${p#/proc/} is in $1: $(tr '\0' ' ' <"$p/cmdline" | cut -c1-120)" >&2; }
	done
	echo $n
}

nok "a node whose state is under /tmp is refused" "$NODECTL" create --handle "$T/x.handle" \
	--name bad --ip "$net.99" --bridge "$br" --state-dir /tmp/stratus-bad-$$ --hosts "$T/hosts"
like "$("$NODECTL" create --handle "$T/x.handle" --name bad --ip "$net.99" --bridge "$br" \
	--state-dir /tmp/stratus-bad-$$ --hosts "$T/hosts" 2>&1)" "is under /tmp" "and the message says why"

# A node whose agent cannot start is undone whole.
echo secret >"$T/token"
t_on_cleanup "'$NODECTL' destroy --handle '$T/fail.handle'"
out=$("$NODECTL" create --handle "$T/fail.handle" --name "pfail-$$" --ip "$net.98" --bridge "$br" \
	--state-dir "$T/pfail" --hosts "$T/hosts" --agent "$T/token" --url "https://$net.1:1" \
	--ca "$T/hosts" --token-file "$T/token" 2>&1); rc=$?
like "$rc:$out" "^1:.*cannot start '$T/token' in the node" "a node whose agent cannot be started fails to be made, saying why"
is "$(ip netns list | grep -c "^st-pfail-$$-")" 0 "and leaves no namespace behind"

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
is "$(nexec "$n2" ssh "$n3" hostname 2>&1)" "$n3" "plain 'ssh NODE' works between nodes (root's own ~/.ssh holds the cluster key)"
nok "the host's /root/.ssh does not get the cluster key" cmp -s /root/.ssh/id_ed25519 "$T/id_cluster"
ssh-keygen -q -t ed25519 -N '' -f "$T/id_other"
nok "ssh with a key that is not the cluster's is refused" nexec "$n1" ssh -F /dev/null -i "$T/id_other" \
	-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=5 \
	"root@$n2" true

# A private FUSE mount of another program on the "host", made before a node:
# the node must keep no copy of it, or its daemon would outlive its unmount.
# The "host" here is a mount namespace of this test's own, so that namespaces
# other programs make on this machine meanwhile cannot copy (and pin) it.
t_start testns unshare --mount --propagation private sleep infinity
testns=$T_PID
t_wait 5 "test mount namespace" eval '[ "$(readlink /proc/$testns/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ]'
mkdir -p "$T/hostfuse"
t_start hostfuse nsenter -t "$testns" -m "$TOOLS/stuckfs" "$T/hostfuse"
host_fuse_pid=$T_PID
t_wait 10 "FUSE mount" grep -q " ${T}/hostfuse " "/proc/$testns/mountinfo"
n4=pn4-$$
t_on_cleanup "nsenter -t $testns -m '$NODECTL' destroy --handle '$T/$n4.handle'"
ok "a node is made beside a private FUSE mount" nsenter -t "$testns" -m "$NODECTL" create --handle "$T/$n4.handle" \
	--name "$n4" --ip "$net.14" --bridge "$br" --state-dir "$T/$n4" --hosts "$T/hosts"
h4=$(awk '$1=="holder_pid"{print $2}' "$T/$n4.handle")
nok "the node keeps no copy of that mount" grep -q " ${T}/hostfuse " "/proc/$h4/mountinfo"
nsenter -t "$testns" -m umount "$T/hostfuse"
fuse_daemon_gone() { ! kill -0 "$host_fuse_pid" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$host_fuse_pid/stat")" = Z ]; }
if ! ok "so its daemon ends when it is unmounted" t_wait 10 "stuckfs to exit" fuse_daemon_gone; then
	for p in /proc/[0-9]*; do
		grep -q " ${T}/hostfuse " "$p/mountinfo" 2>/dev/null &&
			diag "still mounted for pid ${p#/proc/}: $(tr '\0' ' ' <"$p/cmdline" | cut -c1-120)"
	done
fi
# Its netns is pinned only in the test's mount namespace: from the host,
# destroy must refuse rather than delete the name and orphan the node.
nok "destroy refuses where the node's netns cannot be seen" "$NODECTL" destroy --handle "$T/$n4.handle"
ok "the node is still alive after that refusal" nsenter -t "$testns" -m "$NODECTL" alive --handle "$T/$n4.handle"
mntns4=$(readlink "/proc/$h4/ns/mnt")
ok "that node is destroyed from where it was made" nsenter -t "$testns" -m "$NODECTL" destroy --handle "$T/$n4.handle"
ok "its holder is gone" all_gone "$h4"

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
ok "every process that ran in the node is gone" all_gone $pids1
nok "its network namespace is gone" test -e "/run/netns/$netns1"
nok "its veth is gone" test -e "/sys/class/net/$veth1"
is "$(ns_users "$mntns1")" 0 "no process holds its mount namespace (its mounts died with it)"
ok "destroy again is a no-op" "$NODECTL" destroy --handle "$T/$n1.handle"
nok "a destroyed node is not alive" "$NODECTL" alive --handle "$T/$n1.handle"

# A stuck FUSE daemon in a node and a process blocked on its mount: destroy
# must still end the node and leave nothing.
mkdir -p "$T/fmnt"
nexec "$n2" setsid sh -c "'$TOOLS/stuckfs' '$T/fmnt' --hang </dev/null >'$T/stuckfs.log' 2>&1 &"
holder2=$(awk '$1=="holder_pid"{print $2}' "$T/$n2.handle")
fuse_in_node() { grep -q " ${T}/fmnt .*fuse.stuckfs" "/proc/$holder2/mountinfo"; }
ok "a FUSE daemon in a node mounts its file system there" t_wait 10 "stuckfs mounted" fuse_in_node
nok "the host does not see that mount" grep -q " ${T}/fmnt " /proc/self/mountinfo
nexec "$n2" setsid sh -c "ls '$T/fmnt' </dev/null >/dev/null 2>&1 &"
pids2=$("$NODECTL" pids --handle "$T/$n2.handle" | tr '\n' ' ')
mntns2=$(readlink "/proc/$holder2/ns/mnt")
t0=$(date +%s%N)
ok "destroy ends a node whose FUSE daemon is stuck, with a process blocked on it" \
	"$NODECTL" destroy --handle "$T/$n2.handle"
diag "destroyed in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
ok "the FUSE daemon and the blocked process are gone" all_gone $pids2
is "$(ns_users "$mntns2")" 0 "and the mount namespace that held the FUSE mount"

mntns3=$(readlink "/proc/$(awk '$1=="holder_pid"{print $2}' "$T/$n3.handle")/ns/mnt")
"$NODECTL" destroy --handle "$T/$n3.handle"
"$NODECTL" net-down "$br"
leftover=$( (ip netns list; ip -o link) | grep -cE "st-pn[123]-$$-|$br" )
is "$leftover" 0 "after destroying every node and the network, no namespace or link of ours is left"
users=0; for m in "$mntns1" "$mntns2" "$mntns3" "$mntns4"; do users=$((users + $(ns_users "$m"))); done
is "$users" 0 "and no process is left in any node's mount namespace"
