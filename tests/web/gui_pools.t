#!/bin/bash
# The Pools page (tests/web/pools.test.js) against two "existing machines"
# (tests/e2e/ssh_lib.sh: network namespaces, each with its own sshd and host
# key): make a pool, register a host through the form with its key file and
# see its host-key fingerprint, state, reachability and what was found; a
# host holding an old install registers unclean and Clear cleans it over ssh;
# Remove forgets a host; a refused key is an error in words; the new-cluster
# form offers the pools for a template's HostPool.  No private key on any page.
export TMPDIR=/var/tmp
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/web-lib.sh"
. "$TOP/tests/e2e/ssh_lib.sh"
t_need_root
t_need_cmd ip sshd ssh ssh-keygen nsenter unshare curl
web_need

ssh-keygen -q -t ed25519 -N '' -C "pool-$$" -f "$T/poolkey" || bail "ssh-keygen failed"
ssh-keygen -q -t ed25519 -N '' -C "other-$$" -f "$T/otherkey" || bail "ssh-keygen failed"
ssh_net_up || bail "cannot make the test's bridge"
for i in 1 2; do ssh_machine_up "$i" || bail "machine$i did not start"; done
# Machine 2 holds what an earlier Stratus left: it registers unclean.
mkdir -p "$T/m2/opt/stratus/bin" && echo "node old-node-$$" >"$T/m2/opt/stratus/.stratus-install" &&
	echo "#!/bin/sh" >"$T/m2/opt/stratus/bin/stratus-node" || bail "cannot plant the old install"

web_start_stratusd
web_login_token
printf '%s\n' '[cluster pooltest]' '    [[node defaults]]' '    Pool = $HostPool' '    [[node head]]' \
	'[parameters Where]' '    [[parameters Hosts]]' '        [[[parameter HostPool]]]' '        Label = Host pool' \
	'        ParameterType = String' '        DefaultValue = none' >"$T/pooltest.txt"
web_api PUT /templates/pooltest -H 'Content-Type: application/json' \
	-d "$(node -e 'process.stdout.write(JSON.stringify({text: require("fs").readFileSync(process.argv[1], "utf8")}))' \
		"$T/pooltest.txt")" >/dev/null || bail "cannot import the test template"

export WEB_TOKEN WEB_POOL="gp$$" WEB_POOLKEY="$T/poolkey" WEB_OTHERKEY="$T/otherkey"
export WEB_M1="$SSH_NET.11" WEB_M2="$SSH_NET.12" WEB_M2_OPT="$T/m2/opt"
export WEB_FP1=$(ssh-keygen -lf "$T/m1/hostkey.pub" | awk '{print $2}')
export WEB_FP2=$(ssh-keygen -lf "$T/m2/hostkey.pub" | awk '{print $2}')
web_run pools.test.js
