#!/usr/bin/env bash
# Validates a minga server with netcat: sends `ECHO <random text>` to the
# text mode of its client port and expects the same text back.
#   scripts/validate-echo.sh HOST PORT
# Its last line is exactly `action: test_echo_server | result: success`
# (exit 0) or `action: test_echo_server | result: fail` (exit 1), which
# external checkers compare as a whole line; what was tried, and what came
# back on a failure, goes to stderr.
set -u
if [[ $# -ne 2 ]]; then
  echo "usage: $0 HOST PORT" >&2
  exit 2
fi
host=$1
port=$2
text="minga-echo-$RANDOM-$RANDOM-$$"
reply=$(printf 'ECHO %s\n' "$text" | timeout 5 nc -q 1 -w 3 "$host" "$port" 2>/dev/null | head -n 1 | tr -d '\r')
if [[ "$reply" == "$text" ]]; then
  echo "echo from $host:$port: '$reply'" >&2
  echo "action: test_echo_server | result: success"
  exit 0
fi
echo "no echo from $host:$port: sent '$text', got '$reply'" >&2
echo "action: test_echo_server | result: fail"
exit 1
