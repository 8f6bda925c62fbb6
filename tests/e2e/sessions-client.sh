#!/bin/bash
# sessions-client.sh PORT: a client loop for samples/sessions that checks
# every reply.  Each round opens a connection, sends PING and COUNT and
# checks the answers ("PONG", "COUNT 2"); one connection stays open across
# all rounds and is checked too.  On SIGTERM: "N requests, N failed".
port=$1
requests=0 failed=0
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
long=0
trap 'echo "$requests requests, $failed failed"; exit 0' TERM
ask() { # FD REQUEST EXPECTED
  local reply
  printf '%s\n' "$2" >&"$1" || { failed=$((failed + 1)); return; }
  requests=$((requests + 1))
  if ! read -r -t 5 reply <&"$1" || [[ $reply != "$3" ]]; then
    failed=$((failed + 1))
    echo "request '$2': got '${reply:-<nothing>}', expected '$3'" >&2
  fi
}
for (( ; ; )); do
  exec 4<>"/dev/tcp/127.0.0.1/$port" || { failed=$((failed + 1)); continue; }
  ask 4 PING PONG
  ask 4 COUNT "COUNT 2"
  exec 4>&-
  long=$((long + 1))
  ask 3 COUNT "COUNT $long"
done
