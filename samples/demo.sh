#!/usr/bin/env bash
# make demo: live-patch a running kvserver while a client loop keeps using it.
#
# Builds kvserver v1 (GETRANGE leaks stale bytes of older values), starts it,
# runs a client loop against it, shows the bug, makes the v1->v2 patch with
# `make livepatch`, applies it with lpatch, shows the fix, lists and reverts
# the patch, stops everything, and fails if any client request failed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
sample=$top/samples/kvserver
# The tools as the user gave them (environment or make's command line): a
# name is looked up on PATH, a relative path is relative to where make ran
# (LP_CALLER_DIR, from the top-level make; else here) and made absolute,
# since `make -C` below runs elsewhere.
caller=${LP_CALLER_DIR:-$PWD}
tool() {
    if [[ $1 == */* && $1 != /* ]]; then
        if [[ -e $caller/$1 ]]; then printf '%s/%s' "$caller" "$1"; else printf '%s/%s' "$PWD" "$1"; fi
    else
        printf '%s' "$1"
    fi
}
LPATCH=$(tool "${LPATCH:-$top/build/bin/lpatch}")
LPDIFF=$(tool "${LPDIFF:-$top/build/bin/lpdiff}")
tools=(LPATCH="$LPATCH" LPDIFF="$LPDIFF")
# the plugin: LIVEPATCH_PLUGIN, or the test suites' LP_PLUGIN; else livepatch.mk's default
plugin=${LIVEPATCH_PLUGIN:-${LP_PLUGIN:-}}
if [[ -n $plugin ]]; then tools+=("LIVEPATCH_PLUGIN=$(tool "$plugin")"); fi
export LPATCH LPDIFF
work=$(mktemp -d)
server_pid='' loop_pid=''

step() { printf 'demo: %s\n' "$*"; }
show() { sed 's/^/      /'; }
fail() {
    printf 'demo: FAILED: %s\n' "$*" >&2
    exit 1
}
cleanup() {
    local pid
    for pid in $loop_pid $server_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE # so that cleanup runs on these too
kv() { "$sample/kvclient" -p "$port" "$@"; }
probe() { kv 'SET token supersecret' 'SET token hi' 'GETRANGE token 0 11' | tail -n 1; }

step "building kvserver v1, v2, v3 and kvclient with the livepatch plugin"
make -s -C "$sample" all "${tools[@]}" >/dev/null || fail "building the sample failed"

step "starting kvserver v1"
"$sample/v1/kvserver" -p 0 >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do
    port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.log" 2>/dev/null || true)
    [[ -n $port ]] && break
    sleep 0.1
done
[[ -n $port ]] || fail "kvserver did not start: $(cat "$work/server.log")"
step "kvserver pid $server_pid on 127.0.0.1:$port, build-id $(readelf -n "$sample/v1/kvserver" | awk '/Build ID/ { print $3 }')"

step "starting a client loop: 4 connections doing SET/GET/LEN/GETRANGE, every reply checked"
"$sample/kvclient" -p "$port" -l -c 4 >"$work/loop.log" 2>&1 &
loop_pid=$!
sleep 0.5

step "the bug: after SET token supersecret; SET token hi, GETRANGE token 0 11 answers"
before=$(probe)
echo "$before" | show
[[ $before == "VALUE hipersecret" ]] || fail "v1 should leak 'persecret', got '$before'"

step "make livepatch OLD=v1 NEW=v2"
make -s -C "$sample" livepatch OLD=v1 NEW=v2 "${tools[@]}" 2>&1 | show || fail "make livepatch failed"
patch=$sample/livepatch/kvserver.lpatch
[[ -f $patch ]] || fail "make livepatch wrote no $patch"
jq -r '.patches[] | "patch \(.id) for \(.module) build-id \(.old_build_id)"' \
    "$sample/livepatch/manifest.json" | show

step "lpatch apply $server_pid kvserver.lpatch"
"$LPATCH" apply "$server_pid" "$patch" 2>&1 | show || fail "lpatch apply failed"

step "fixed, with the client loop still running: GETRANGE token 0 11 now answers"
after=$(probe)
echo "$after" | show
[[ $after == "ERR range out of bounds" ]] || fail "v2 should refuse the range, got '$after'"

sleep 0.5
step "lpatch list $server_pid"
"$LPATCH" list "$server_pid" 2>&1 | show || fail "lpatch list failed"

step "lpatch revert $server_pid"
"$LPATCH" revert "$server_pid" 2>&1 | show || fail "lpatch revert failed"

step "reverted: GETRANGE token 0 11 answers"
reverted=$(probe)
echo "$reverted" | show
[[ $reverted == "VALUE hipersecret" ]] || fail "after revert v1 behaviour should be back, got '$reverted'"

sleep 0.5
step "stopping the client loop"
kill -INT "$loop_pid"
rc=0
wait "$loop_pid" || rc=$?
loop_pid=
show <"$work/loop.log"
((rc == 0)) || fail "the client loop saw failed requests"

step "stopping kvserver"
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=
step "done: patched and reverted a running server, no failed request"
