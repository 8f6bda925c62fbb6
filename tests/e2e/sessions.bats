#!/usr/bin/env bats
# samples/sessions: struct session gains a member (v2 closes a connection
# after its third unknown command); the live patch keeps the member in a
# shadow variable.  Sessions from before and after the apply both behave as
# v2 does, a client loop's every reply is right throughout, revert frees
# every shadow.
load ../lib/common
load helpers

setup_file() {
    export SD=$BATS_FILE_TMPDIR/sessions
    copy_sample sessions "$SD"
    make -s -C "$SD" all >"$BATS_FILE_TMPDIR/build.log" 2>&1
    make -s -C "$SD" livepatch OLD=v1 NEW=v2 >"$BATS_FILE_TMPDIR/livepatch.log" 2>&1 ||
        { cat "$BATS_FILE_TMPDIR/livepatch.log" >&2; return 1; }
}

teardown() {
    stop_all
}

start_sessiond() {
    start_bg sessiond "$SD/v1/sessiond" -p 0
    SD_PID=$(bg_pid sessiond)
    wait_for "$BATS_TEST_TMPDIR/sessiond.log" 'listening on [0-9]+'
    SD_PORT=$(awk '{ print $3 }' "$BATS_TEST_TMPDIR/sessiond.log")
}

# bad_until_closed FD: unknown commands until the server closes; prints the
# replies, one per line.
bad_until_closed() {
    local reply i
    for ((i = 0; i < 6; i++)); do
        { printf 'NOPE\n' >&"$1"; } 2>/dev/null || break
        read -r -t 2 reply <&"$1" || break
        echo "$reply"
    done
}

@test "make livepatch with LIVEPATCH_HOOKS accepts the member the hook file handles" {
    run cat "$BATS_FILE_TMPDIR/livepatch.log"
    assert_output --partial "struct session: member 'errors' added at offset 16 is handled by shadow variables"
    assert [ -f "$SD/livepatch/sessiond.lpatch" ]
    run "$LPATCH" info "$SD/livepatch/sessiond.lpatch"
    assert_output --partial "callback LP_POST_REVERT"
}

@test "sessions from before and after the apply both behave as v2; no client reply is wrong; revert frees every shadow" {
    start_sessiond
    start_bg loop "$LP_TOP/tests/e2e/sessions-client.sh" "$SD_PORT"
    exec 5<>"/dev/tcp/127.0.0.1/$SD_PORT" # a session from before the apply
    printf 'NOPE\n' >&5
    read -r -t 2 reply <&5
    [ "$reply" = "ERR unknown command" ]
    sleep 0.3

    run "$LPATCH" apply "$SD_PID" "$SD/livepatch/sessiond.lpatch"
    assert_success
    # the old session: one unknown command before the apply did not count
    # (it was not counted then), so three more close it
    run bad_until_closed 5
    assert_output "ERR unknown command
ERR unknown command
ERR too many errors"
    exec 5>&-
    exec 6<>"/dev/tcp/127.0.0.1/$SD_PORT" # a session from after the apply
    run bad_until_closed 6
    assert_output "ERR unknown command
ERR unknown command
ERR too many errors"
    exec 6>&-
    # closed sessions freed their shadows; one that stays open keeps its own
    exec 8<>"/dev/tcp/127.0.0.1/$SD_PORT"
    printf 'NOPE\n' >&8
    read -r -t 2 reply <&8
    [ "$reply" = "ERR unknown command" ]
    run "$LPATCH" list "$SD_PID"
    assert_output --partial "1 patch, 1 shadow variable"

    sleep 0.3
    run "$LPATCH" revert "$SD_PID"
    assert_success
    run "$LPATCH" list "$SD_PID"
    assert_output --partial "0 patches, 0 shadow variables"
    exec 7<>"/dev/tcp/127.0.0.1/$SD_PORT" # v1 again: never closed
    run bad_until_closed 7
    assert_equal "${#lines[@]}" 6
    exec 7>&- 8>&-

    kill -TERM "$(bg_pid loop)" # a script in the background ignores SIGINT
    wait_for "$BATS_TEST_TMPDIR/loop.log" 'requests, [0-9]+ failed'
    run grep 'requests,' "$BATS_TEST_TMPDIR/loop.log"
    assert_output --regexp '^[1-9][0-9]* requests, 0 failed$'
}
