#!/bin/bash
# Tokens and the CLI's first contact: `stratus initialize` without --batch
# shows the manager's certificate fingerprint (the same as certtool's and as
# stratusd logs) and pins it only when told "yes" on stdin; "no" writes
# nothing; `stratus logout` revokes the token at the manager and forgets it,
# `logout --all` every token of the user; a user token expires after
# --token-ttl and the refusal says so.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mgr_lib.sh"
t_need_cmd curl perl certtool
plan 23

mgr_start "$T/state" --provider none --token-ttl 3s || bail "stratusd did not start"
fp=$(certtool -i --infile "$MGR_STATE/tls/cert.pem" | sed -n '/Fingerprint:/,/sha256:/p' | sed -n 's/^[[:space:]]*\(sha256:[0-9a-f]*\)$/\1/p')
like "$fp" "^sha256:[0-9a-f]{64}$" "certtool reads the manager's fingerprint"
like "$(cat "$T/stratusd.log")" "fingerprint $fp" "stratusd logs the same fingerprint at start"

# Interactive: the answer comes on stdin.
export STRATUS_CONFIG="$T/cli-no/config.ini"
out=$(echo no | stratus initialize --url "$MGR_URL" --username admin --password-file "$T/admin.pw" 2>&1); rc=$?
is "$rc" 1 "answering no fails"
like "$out" "fingerprint: $fp" "after showing the certificate's fingerprint"
like "$out" "not trusting the certificate" "and says the certificate was not trusted"
ok "and nothing is written" test ! -e "$STRATUS_CONFIG"
out=$(stratus initialize --batch --url "$MGR_URL" --username admin --password-file "$T/admin.pw" 2>&1)
like "$out" "certificate of '$MGR_URL' is not trusted.*--ca FILE" "--batch asks nothing and says to give --ca"

export STRATUS_CONFIG="$T/cli-yes/config.ini"
out=$(echo yes | stratus initialize --url "$MGR_URL" --username admin --password-file "$T/admin.pw" 2>&1); rc=$?
is "$rc" 0 "answering yes initializes"
like "$out" "fingerprint: $fp" "showing the same fingerprint"
like "$out" "subject: +.*CN=stratusd" "and who the certificate names"
like "$out" "certificate pinned" "and the certificate is pinned"
ok "the pinned copy is the manager's certificate" cmp "$T/cli-yes/manager.pem" "$MGR_STATE/tls/cert.pem"
ok "later commands trust it (verified, not skipped)" sh -c "stratus show_cluster && grep -q '^verify_ssl = true' '$STRATUS_CONFIG'"

# Expiry (this stratusd: --token-ttl 3s).
tok=$(mgr_token)
exp=$(mgr_curl GET /whoami -H "Authorization: Bearer $tok"; perl -MJSON::PP -0ne 'print decode_json($_)->{expires}' "$T/body")
like "$exp" "^200[0-9]{13}$" "whoami says when the token expires"
expired() { [ "$(mgr_curl GET /whoami -H "Authorization: Bearer $tok")" = 401 ]; }
ok "after the time-to-live the token is refused" t_wait 20 "token expired" expired
like "$(stratus show_cluster 2>&1)" "the token has expired; log in again with 'stratus initialize'" "and the CLI says it expired"
now=$(( $(date +%s%N) / 1000000 ))
ok "not before its time" test "$now" -ge "${exp#200}"

# Logout, with the default time-to-live.
t_stop "$MGR_PID"
mgr_start "$T/state" --provider none || bail "stratusd did not start again"
mgr_login || bail "cannot initialize the CLI"
tok=$(mgr_token)
like "$(stratus logout)" "Logged out of $MGR_URL: 1 token\(s\) revoked" "stratus logout revokes the token"
is "$(mgr_curl GET /whoami -H "Authorization: Bearer $tok")" 401 "the old token is refused by the manager"
like "$(stratus show_cluster 2>&1)" "no url or token; run 'stratus initialize'" "and the CLI has forgotten it"
grep -q "^url = $MGR_URL" "$STRATUS_CONFIG"; is $? 0 "but still knows the manager"

mgr_login && tok1=$(mgr_token) && STRATUS_CONFIG="$T/cli2.ini" mgr_login && tok2=$(sed -n 's/^token = //p' "$T/cli2.ini")
like "$(stratus logout --all)" "2 token\(s\) revoked" "logout --all revokes every token of the user"
is "$(mgr_curl GET /whoami -H "Authorization: Bearer $tok2")" 401 "including another session's"
