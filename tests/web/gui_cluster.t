#!/bin/bash
# The GUI with real namespaced nodes (tests/web/cluster.test.js): create a
# cluster from the guitest template through the form, start it, add 2 nodes
# and watch them reach Ready without reloading, read a node's IP and its
# cluster-init log, terminate and remove a node, autoscale settings; a node
# whose cluster-init fails is shown Failed with its log, and Retry fixes it.
# Node state must live outside /tmp (every node mounts its own /tmp).
export TMPDIR=/var/tmp
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/web-lib.sh"
t_need_root
t_need_cmd ip sshd tar curl
web_need
[ -x "$BIN/stratus-node" ] || skip_all "stratus-node is not built (make)"
# Each run its own cluster network range, so parallel runs never share bridges.
web_start_stratusd --listen 0.0.0.0 --network "10.$((100 + $$ % 100)).0.0/16"
web_login_token
fx="$WEB_DIR/fixtures"
web_api POST /lockers -H 'Content-Type: application/json' -d '{"name":"gui"}' >/dev/null ||
	bail "cannot create the locker"
tar -czf "$T/guiproj.tar.gz" -C "$fx/guiproj" . || bail "cannot pack the test project"
web_api PUT /lockers/gui/projects/guiproj/1.0.0 -H 'Content-Type: application/gzip' \
	--data-binary "@$T/guiproj.tar.gz" >/dev/null || bail "cannot upload the test project"
web_api PUT /templates/guitest -H 'Content-Type: application/json' \
	-d "$(node -e 'process.stdout.write(JSON.stringify({text: require("fs").readFileSync(process.argv[1], "utf8")}))' \
		"$fx/guitest.txt")" \
	>/dev/null || bail "cannot import the test template"
export WEB_CLUSTER="gui$$" WEB_FLAG="$T/flag"
web_cleanup_cluster "$WEB_CLUSTER"
web_cleanup_cluster "${WEB_CLUSTER}f"
web_run cluster.test.js
