#!/bin/bash
# stratusd's REST API without nodes: every route refuses a caller without a
# valid token (401) before reading its body, tokens of the wrong kind are
# refused (403), bad JSON and oversized bodies get 4xx and the daemon keeps
# serving, logins work and failures say why.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mgr_lib.sh"
t_need_cmd curl perl

routes=(
	"GET /whoami" "GET /lockers" "POST /lockers" "GET /lockers/default/projects"
	"PUT /lockers/default/projects/p/1.0" "GET /templates" "GET /templates/t" "PUT /templates/t"
	"DELETE /templates/t" "GET /clusters" "POST /clusters" "GET /clusters/c" "DELETE /clusters/c"
	"POST /clusters/c/start" "POST /clusters/c/terminate" "POST /clusters/c/retry"
	"GET /clusters/c/events" "GET /clusters/c/sshkey" "GET /clusters/c/nodes" "POST /clusters/c/nodes"
	"POST /clusters/c/nodes/terminate" "POST /clusters/c/nodes/remove" "GET /clusters/c/nodes/n"
	"GET /events" "GET /node" "GET /node/spec?project=p&spec=s&version=1" "POST /node/state"
	"POST /node/script" "POST /node/heartbeat" "GET /node/cluster-nodes" "GET /no/such/route"
)
plan $(( ${#routes[@]} * 2 + 28 ))

mgr_start "$T/state" --provider none || bail "stratusd did not start"
for r in "${routes[@]}"; do
	set -- $r
	is "$(mgr_curl "$1" "$2" -d '{}')" 401 "$1 $2 without a token: 401"
done
for r in "${routes[@]}"; do
	set -- $r
	is "$(mgr_curl "$1" "$2" -d '{}' -H "Authorization: Bearer $(printf '%064d' 7)")" 401 "$1 $2 with a made-up token: 401"
done
like "$(cat "$T/body")" '"error":"the token is not valid' "the 401 says the token is not valid"

is "$(mgr_curl POST /login -d '{"username":"admin","password":"wrong"}')" 401 "a wrong password gets 401"
is "$(mgr_curl POST /login -d '{"username":"nobody","password":"x"}')" 401 "an unknown user gets 401"
is "$(mgr_curl POST /login -d '{"username":"admin","password":"'"$(cat "$T/admin.pw")"'"}')" 200 "the right password gets a token"
tok=$(perl -MJSON::PP -0ne 'print decode_json($_)->{token}' "$T/body")
A=(-H "Authorization: Bearer $tok")
is "$(mgr_curl GET /whoami "${A[@]}")" 200 "the token works"
is "$(mgr_curl GET /node "${A[@]}")" 403 "a user's token is refused on the node routes"

is "$(mgr_curl POST /clusters "${A[@]}" -d '{"name": "x", ')" 400 "truncated JSON gets 400"
like "$(cat "$T/body")" 'not valid JSON' "and the error says so"
is "$(mgr_curl POST /clusters "${A[@]}" -d '[1,2]')" 400 "a JSON array where an object is expected gets 400"
is "$(mgr_curl POST /clusters "${A[@]}" -d '{"name": 5, "template": "t"}')" 400 "a number where a string is expected gets 400"
head -c 5000000 /dev/zero | tr '\0' 'a' >"$T/big"
is "$(mgr_curl POST /clusters "${A[@]}" --data-binary @"$T/big")" 413 "a 5 MB JSON body gets 413"
is "$(mgr_curl POST /clusters "${A[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$T/big")" 413 \
	"a 5 MB chunked body (no length given) gets 413"
is "$(mgr_curl GET /clusters "${A[@]}")" 200 "the daemon keeps serving after bad requests"
ok "stratusd is still running" kill -0 "$MGR_PID"
is "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$MGR_STATE/tls/cert.pem" "$MGR_URL/")" 200 "the GUI's page is served at / without a token"
is "$(curl -s -o /dev/null -w '%{http_code}' --path-as-is --cacert "$MGR_STATE/tls/cert.pem" "$MGR_URL/../../etc/passwd")" 404 "no file outside web/ is served"
is "$(mgr_curl PUT /templates/bad "${A[@]}" -d '{"text":"[cluster x]\n[[node a]]\n[[[cluster-init nocolon]]]\n"}')" 400 \
	"a bad template is refused at import"
like "$(cat "$T/body")" 'template:3' "with the line it is wrong on"

# A password reset ends what the old password opened: the user's API tokens
# and browser sessions, while stratusd runs.
pw=$(cat "$T/admin.pw")
is "$(mgr_curl POST /session -D "$T/hdr" -H "Content-Type: application/json" -d '{"username":"admin","password":"'"$pw"'"}')" 200 "a browser logs in"
sid=$(tr -d '\r' <"$T/hdr" | sed -n 's/^[Ss]et-[Cc]ookie: __Host-stratus_session=\([0-9a-f]*\);.*/\1/p')
S=(-H "Cookie: __Host-stratus_session=$sid")
is "$(mgr_curl GET /session "${S[@]}")" 200 "its session cookie works"
is "$(mgr_curl GET /clusters "${S[@]}")" 200 "on the API routes too"
echo "new-pw-$$" >"$T/new.pw"
ok "stratusd --init-admin resets the password while stratusd runs" \
	sh -c 'stratusd --state-dir "$1" --init-admin admin --password-file "$2" >/dev/null' sh "$MGR_STATE" "$T/new.pw"
is "$(mgr_curl GET /whoami "${A[@]}")" 401 "after the reset the token of the old password is refused"
is "$(mgr_curl GET /session "${S[@]}")" 401 "and so is the old session cookie"
is "$(mgr_curl GET /clusters "${S[@]}")" 401 "on the API routes too"
is "$(mgr_curl POST /login -d '{"username":"admin","password":"'"$pw"'"}')" 401 "the old password is refused"
is "$(mgr_curl POST /login -d '{"username":"admin","password":"'"$(cat "$T/new.pw")"'"}')" 200 "the new one gets a token"
tok=$(perl -MJSON::PP -0ne 'print decode_json($_)->{token}' "$T/body")
is "$(mgr_curl GET /whoami -H "Authorization: Bearer $tok")" 200 "which works"
