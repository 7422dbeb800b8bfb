#!/bin/bash
# Put the project's helpers where its other specs find them.
set -eu
D=$(stratus-node config stratus.data_dir /var/lib/stratus-nodes)/nodes/$STRATUS_NODE_NAME
install -d -m 0755 "$D/lib"
install -m 0644 "$STRATUS_SPEC_DIR/files/sfs-lib.sh" "$D/lib/sfs-lib.sh"
echo "stratusfs: helpers in $D/lib/sfs-lib.sh; role $(stratus-node config stratusfs.role client)"
