#!/bin/bash
# The stratus CLI against a real stratusd, no nodes: initialize and each way
# it can go wrong (refused port, http://, untrusted or wrong certificate,
# wrong password, wrong URL), the settings file, lockers and project upload,
# templates, clusters, filters, usage errors and exit codes.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mgr_lib.sh"
t_need_cmd curl perl tar certtool
plan 43

mgr_start "$T/state" --provider none || bail "stratusd did not start"
pw="$T/admin.pw"
out=$(stratus initialize --batch --url "https://127.0.0.1:$(t_free_port)" --username admin --password-file "$pw" --verify-ssl false 2>&1)
is $? 1 "initialize against a closed port fails with exit 1"
like "$out" "cannot connect to .*is stratusd running" "and says it cannot connect, and what to check"
out=$(stratus initialize --batch --url "http://127.0.0.1:$MGR_PORT" --username admin --password-file "$pw" 2>&1)
like "$out" "plain HTTP.*use https://127.0.0.1:$MGR_PORT" "an http:// URL is refused with the https:// one to use"
out=$(stratus initialize --batch --url "$MGR_URL" --username admin --password-file "$pw" 2>&1)
like "$out" "certificate of .* is not trusted.*--ca" "a self-signed certificate not given with --ca is refused, saying what to do"
certtool --generate-privkey --key-type ecdsa --outfile "$T/other.key" >/dev/null 2>&1
printf 'cn = other\nexpiration_days = 2\nca\n' >"$T/other.tmpl"
certtool --generate-self-signed --load-privkey "$T/other.key" --template "$T/other.tmpl" --outfile "$T/other.pem" >/dev/null 2>&1
out=$(stratus initialize --batch --url "$MGR_URL" --username admin --password-file "$pw" --ca "$T/other.pem" 2>&1)
like "$out" "is not trusted" "another certificate given with --ca is refused (pinning works)"
out=$(stratus initialize --batch --url "$MGR_URL" --username admin --password wrong --ca "$MGR_STATE/tls/cert.pem" 2>&1)
is $? 1 "a wrong password fails with exit 1"
like "$out" "wrong username or password for 'admin'" "and says so"
out=$(stratus initialize --batch --url "$MGR_URL/some/path" --username admin --password-file "$pw" --ca "$MGR_STATE/tls/cert.pem" 2>&1)
like "$out" "does not look like a Stratus manager" "a URL with a path is refused as not a manager"
out=$(stratus initialize --batch --url "$MGR_URL" 2>&1)
is $? 2 "initialize --batch without a user is a usage error (exit 2)"
ok "initialize with the manager's certificate works" mgr_login
is "$(stat -c %a "$STRATUS_CONFIG")" 600 "the settings file is mode 0600"
ok "the settings pin the certificate" grep -q "^ca = $T/cli/manager.pem" "$STRATUS_CONFIG"
ok "initialize --verify-ssl false works too" stratus initialize --batch --url "$MGR_URL" --username admin \
	--password-file "$pw" --verify-ssl false --config "$T/insecure.ini"
ok "and the CLI works with those settings" stratus locker list --config "$T/insecure.ini"

like "$(stratus locker list)" "default +$MGR_STATE/lockers/default" "locker list shows the default locker"

# A test project: one spec with two scripts.
proj="$T/proj"
mkdir -p "$proj/specs/base/cluster-init/scripts" "$proj/specs/base/cluster-init/files"
printf '[project]\nname = testproj\nversion = 1.0.0\n' >"$proj/project.ini"
printf '#!/bin/sh\necho hello\n' >"$proj/specs/base/cluster-init/scripts/10-hello.sh"
out=$(cd "$proj" && stratus project upload default)
like "$out" "Uploaded project 'testproj' version 1.0.0 to locker 'default'; specs: base" "project upload stores the project"
ok "its scripts are in the locker" test -f "$MGR_STATE/lockers/default/testproj/1.0.0/specs/base/cluster-init/scripts/10-hello.sh"
out=$(cd "$T" && stratus project upload default 2>&1)
like "$out" "no project.ini here" "project upload outside a project folder says what is missing"
out=$(cd "$proj" && stratus project upload nosuch 2>&1)
like "$out" "no locker named 'nosuch'" "project upload to an unknown locker is refused"

cat >"$T/tmpl.txt" <<'TMPL'
[cluster testc]
    [[node defaults]]
        [[[cluster-init testproj:base:1.0.0]]]
    [[node head]]
        [[[configuration]]]
        test.role = head
    [[nodearray execute]]
    MaxCount = $MaxNodes
        [[[configuration]]]
        test.role = execute

[parameters Settings]
    [[parameters Sizes]]
        [[[parameter MaxNodes]]]
        ParameterType = Integer
        DefaultValue = 4
TMPL
out=$(stratus import_template -f "$T/tmpl.txt")
like "$out" "Imported template 'testc'" "import_template takes the name from [cluster testc]"
out=$(stratus import_template -f "$T/tmpl.txt" 2>&1)
is $? 1 "importing it again without --force fails"
like "$out" "exists already; use --force" "and says to use --force"
ok "import_template --force replaces it" stratus import_template -f "$T/tmpl.txt" --force
ok "import_template NAME names it" stratus import_template other -f "$T/tmpl.txt"
printf '[cluster bad]\n[[node a]]\nMaxCount = $Missing\n' >"$T/bad.txt"
out=$(stratus import_template -f "$T/bad.txt" 2>&1)
like "$out" "bad.txt:3" "a bad template is refused with its file and line"

printf '{"MaxNodes": 3}' >"$T/params.json"
ok "create_cluster with parameters" stratus create_cluster testc demo -p "$T/params.json"
printf '{"NoSuch": 3}' >"$T/badparams.json"
out=$(stratus create_cluster testc demo2 -p "$T/badparams.json" 2>&1)
like "$out" "unknown parameter 'NoSuch'" "an unknown parameter is refused before anything starts"
out=$(stratus create_cluster testc demo 2>&1)
like "$out" "cluster named 'demo' exists already" "a second cluster of the same name is refused"
ok "import_cluster is an alias" stratus import_cluster testc demo3
like "$(stratus show_cluster)" "demo +testc +Off" "show_cluster lists the clusters"
like "$(stratus show_cluster demo)" "Cluster demo: Off" "show_cluster NAME shows one"
is "$(stratus show_cluster --format json | perl -MJSON::PP -0ne 'print scalar @{decode_json($_)}')" 2 \
	"show_cluster --format json is JSON for scripts"
is "$(stratus show_nodes demo --format json)" "[]" "a cluster that never started has no nodes"
out=$(stratus show_nodes demo --filter 'Template == ' 2>&1)
is $? 1 "a bad filter fails with exit 1"
like "$out" "column" "and points at the column"
out=$(stratus show_nodes nosuch 2>&1)
like "$out" "no cluster named 'nosuch'" "an unknown cluster is named in the error"
out=$(stratus add_node demo -t execute -c 2 2>&1)
like "$out" "not started" "add_node to a cluster that is not started is refused"
ok "delete_cluster deletes an Off cluster" stratus delete_cluster demo3
like "$(stratus show_cluster)" "^NAME" "show_cluster prints a header"

out=$(stratus show_nodes 2>&1)
is $? 2 "a missing argument is a usage error (exit 2)"
out=$(stratus no_such_verb 2>&1)
is $? 2 "an unknown verb is a usage error (exit 2)"
n=0; bad=""
for v in initialize locker project import_template create_cluster import_cluster start_cluster \
	terminate_cluster delete_cluster show_cluster show_nodes add_node terminate_node remove_node retry ssh; do
	stratus $v --help | grep -q "^usage: stratus $v" || bad="$bad $v"
done
is "$bad" "" "every verb has --help"
rm -f "$STRATUS_CONFIG"
out=$(stratus show_cluster 2>&1)
like "$out" "run 'stratus initialize' first" "without settings the CLI says to initialize"
