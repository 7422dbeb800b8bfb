#!/bin/bash
# The harness itself: start a server made of src/common on a free port, poll
# until it answers, talk to it, stop it by PID, and check that it is gone.
. "$(dirname "$0")/../lib.sh"

plan 5
t_start echo "$TOOLS/echo-server" --port-file "$T/port"
ok "echo-server writes its port when listening" t_wait 10 "port file" test -s "$T/port"
port=$(cat "$T/port")
reply=$(exec 3<>"/dev/tcp/127.0.0.1/$port"; echo "hello stratus" >&3; head -n 1 <&3)
is "$reply" "hello stratus" "echo-server echoes a line"
nok "an unknown flag is refused" "$TOOLS/echo-server" --no-such-flag
t_stop "$PID_echo"
nok "the server is gone after t_stop" kill -0 "$PID_echo"
like "$(cat "$T/echo.log")" "info: listening on 127.0.0.1:$port" "its log line names the address"
