#!/usr/bin/env bats
# The demo's story as assertions: a running kvserver v1 is patched to v2 while
# a client loop uses it; the bug is visible before, gone after, back after
# revert, and no client request fails throughout.
load ../lib/common
load helpers

setup_file() {
    export KV=$BATS_FILE_TMPDIR/kvserver
    copy_sample kvserver "$KV"
    make -s -C "$KV" all >"$BATS_FILE_TMPDIR/build.log" 2>&1
}

teardown() {
    stop_all
}

@test "make livepatch OLD=v1 NEW=v2 writes kvserver.lpatch for the deployed v1 binary" {
    run make -s -C "$KV" livepatch OLD=v1 NEW=v2
    assert_success
    assert_line "livepatch: building v1 (1/2)"
    assert_line "livepatch: building v2 (2/2)"
    assert [ -f "$KV/livepatch/kvserver.lpatch" ]
    assert [ -f "$KV/livepatch/kvserver.json" ]
    run jq -r '.patches[0].old_build_id' "$KV/livepatch/manifest.json"
    assert_output "$(build_id "$KV/v1/kvserver")"
    run jq -r '.patches[0].new_build_id' "$KV/livepatch/manifest.json"
    assert_output "$(build_id "$KV/v2/kvserver")"
}

@test "apply fixes the running server, revert brings v1 back, no client request fails" {
    patch=$KV/livepatch/kvserver.lpatch
    [[ -f $patch ]] || make -s -C "$KV" livepatch OLD=v1 NEW=v2
    start_kvserver "$KV/v1/kvserver"
    start_bg loop "$KV/kvclient" -p "$KV_PORT" -l -c 4
    sleep 0.3

    run kv_probe
    assert_output "VALUE hipersecret"

    run "$LPATCH" apply "$KV_PID" "$patch"
    assert_success
    run kv_probe
    assert_output "ERR range out of bounds"
    id=$(jq -r '.patches[0].id' "$KV/livepatch/manifest.json")
    run "$LPATCH" list "$KV_PID"
    assert_success
    assert_output --partial "${id:0:8}"

    sleep 0.3
    run "$LPATCH" revert "$KV_PID"
    assert_success
    run kv_probe
    assert_output "VALUE hipersecret"
    run "$LPATCH" list "$KV_PID"
    refute_output --partial "${id:0:8}"

    sleep 0.3
    kill -INT "$(bg_pid loop)"
    wait_for "$BATS_TEST_TMPDIR/loop.log" 'requests, [0-9]+ failed'
    run cat "$BATS_TEST_TMPDIR/loop.log"
    assert_output --regexp '^kvclient: [1-9][0-9]* requests, 0 failed$'
    # the server lived through it all
    run kill -0 "$KV_PID"
    assert_success
}

@test "a v1->v3 patch carries both fixes into the running v1 server" {
    run make -s -C "$KV" livepatch OLD=v1 NEW=v3 LIVEPATCH_OUT=out-v3
    assert_success
    start_kvserver "$KV/v1/kvserver"
    long=k234567890123456789012345678901234567890
    run "$KV/kvclient" -p "$KV_PORT" "SET $long x"
    assert_output "OK"

    run "$LPATCH" apply "$KV_PID" "$KV/out-v3/kvserver.lpatch"
    assert_success
    run "$KV/kvclient" -p "$KV_PORT" "SET $long x"
    assert_output "ERR key too long"
    run kv_probe
    assert_output "ERR range out of bounds"
}
