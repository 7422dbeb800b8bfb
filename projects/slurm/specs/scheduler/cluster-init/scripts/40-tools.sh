#!/bin/bash
# The cluster's benchmarks in /shared/bin: stratus-ior as /shared/bin/ior and
# stratus-mdtest as /shared/bin/mdtest (the seed runs /shared/bin/ior), from
# beside the agent (a build tree or an install) or from PATH.
set -eu
. "$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME/lib/slurm-lib.sh"

dir=$(dirname "$(command -v stratus-node)")
for pair in stratus-ior:ior stratus-mdtest:mdtest; do
	src=${pair%%:*}
	dst=/shared/bin/${pair#*:}
	p=$dir/$src
	[ -x "$p" ] || p=$(command -v "$src" || true)
	if [ -z "$p" ]; then
		log "$src is not installed here: $dst not made (build it: make programs)"
		continue
	fi
	install -m 0755 "$p" "$dst.new"
	mv -f "$dst.new" "$dst"
	log "installed $p as $dst"
done
