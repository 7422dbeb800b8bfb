#!/bin/bash
# Browser sessions: login, a refused wrong password, cookie flags, CSRF
# refusals, logout killing the cookie (tests/web/session.test.js).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/web-lib.sh"
web_need
web_start_stratusd
web_run session.test.js
