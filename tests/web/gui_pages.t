#!/bin/bash
# The GUI without nodes (tests/web/pages.test.js): keyboard login, labelled
# fields, API errors in words, the benchmarks chart and table.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/web-lib.sh"
web_need
web_start_stratusd
web_login_token
export WEB_TOKEN
web_run pages.test.js
