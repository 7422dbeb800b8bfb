#!/bin/bash
# Guards: a storage cluster that a running compute cluster mounts (the
# compute cluster's StorageCluster parameter and stratusfs.cluster
# configuration name it, as templates/slurm.txt does) is not terminated or
# deleted without --force, and the refusal names the compute cluster; the
# storage cluster's mds node is not terminated without --force either, and
# the refusal says it is the mds; with --force both go ahead (an event says
# so); once the compute cluster is terminated nothing stands in the way.
# Real stratusd, real namespaced nodes.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mgr_lib.sh"
mgr_need_nodes
plan 21

STATE=$(mktemp -d /var/tmp/stratus-mgr2-guard.XXXXXX)
S="s$$" K="k$$"
t_on_cleanup 'mgr_cleanup "$STATE" "$K" "$S"'

mgr_start "$STATE" --provider local || bail "stratusd did not start"
mgr_login || bail "cannot initialize the CLI"

# The shapes of templates/stratusfs.txt and templates/slurm.txt, without their software.
cat >"$T/storage.txt" <<'TMPL'
[cluster gstorage]
    [[node mds]]
        [[[configuration]]]
        stratusfs.role = mds
    [[nodearray oss]]
    InitialCount = 1
        [[[configuration]]]
        stratusfs.role = oss
TMPL
cat >"$T/compute.txt" <<'TMPL'
[cluster gcompute]
    [[node defaults]]
        [[[configuration stratusfs]]]
        cluster = $StorageCluster
    [[node scheduler]]
        [[[configuration]]]
        slurm.role = scheduler
    [[nodearray execute]]
[parameters Required]
    [[parameters Storage]]
        [[[parameter StorageCluster]]]
        ParameterType = String
        Required = true
TMPL
echo "{\"StorageCluster\": \"$S\"}" >"$T/params.json"
stratus import_template -f "$T/storage.txt" >/dev/null && stratus import_template -f "$T/compute.txt" >/dev/null &&
	stratus create_cluster gstorage "$S" >/dev/null && stratus create_cluster gcompute "$K" -p "$T/params.json" >/dev/null ||
	bail "cannot create the clusters"
ok "the storage cluster starts" stratus start_cluster "$S"
ok "the compute cluster starts" stratus start_cluster "$K"
ok "the mds node reaches Ready" t_wait 60 "mds Ready" mgr_is "$S" "$S-mds" Ready
ok "the scheduler reaches Ready" t_wait 60 "scheduler Ready" mgr_is "$K" "$K-scheduler" Ready

out=$(stratus terminate_cluster "$S" 2>&1); rc=$?
is "$rc" 1 "terminate_cluster of the storage cluster is refused"
like "$out" "refusing to terminate cluster '$S': a running cluster depends on it: cluster '$K' \(its parameter StorageCluster is '$S'\); terminate that cluster first, or pass --force" \
	"the refusal names the compute cluster, why, and what to do"
is "$(mgr_curl POST "/clusters/$S/terminate" -H "Authorization: Bearer $(mgr_token)" -d '{}')" 409 "the API answers 409"
still_up() { stratus show_cluster | grep -Eq "^$S +gstorage +Started" && mgr_is "$S" "$S-mds" Ready; }
ok "the storage cluster is still Started, its mds Ready" still_up

out=$(stratus terminate_node "$S" mds 2>&1); rc=$?
is "$rc" 1 "terminate_node of the mds node is refused"
like "$out" "refusing to terminate node '$S-mds': it is not in a node array: it is the cluster's mds node \(stratusfs.role = mds\), and cluster '$K' .* depends on this cluster.*--force" \
	"the refusal says it is the mds and who mounts the file system"
like "$(stratus remove_node "$S" --filter 'Template == "mds"' 2>&1)" "refusing to remove node '$S-mds'" "through a filter and remove_node too"
like "$(stratus terminate_node "$K" scheduler 2>&1)" "it is the cluster's scheduler node \(slurm.role = scheduler\)" \
	"the scheduler node likewise"
like "$(stratus terminate_node "$S" --filter 'Template == "oss"')" "Terminating 1 node" "an oss node (array) needs no --force"

out=$(stratus delete_cluster "$S" 2>&1)
like "$out" "refusing to delete cluster '$S'.*cluster '$K'" "delete_cluster is refused too, naming the compute cluster"

ok "terminate_cluster --force goes ahead" stratus terminate_cluster "$S" --force
ok "the storage cluster ends Off" t_wait 60 "storage Off" sh -c "stratus show_cluster | grep -Eq '^$S +gstorage +Off'"
like "$(sqlite3 "$STATE/stratus.db" "SELECT message FROM events WHERE cluster = '$S' AND kind = 'guard'")" \
	"terminate forced while a running cluster depends on it: cluster '$K'" "the forced terminate is an event"
like "$(stratus delete_cluster "$S" 2>&1)" "refusing to delete cluster '$S'" "delete is still refused while the compute cluster runs"

ok "the compute cluster terminates (nothing depends on it)" stratus terminate_cluster "$K"
ok "and ends Off" t_wait 60 "compute Off" sh -c "stratus show_cluster | grep -Eq '^$K +gcompute +Off'"
ok "now the storage cluster is deleted without --force" stratus delete_cluster "$S"
