#!/usr/bin/env bats
# The shared-library sample: thermo runs forever and its bug lives in
# libconv.so; the patch is made for the library alone and applied to the
# running program.
load ../lib/common
load helpers

setup_file() {
    export TH=$BATS_FILE_TMPDIR/thermo
    copy_sample thermo "$TH"
    make -s -C "$TH" all >"$BATS_FILE_TMPDIR/build.log" 2>&1
}

teardown() {
    stop_all
}

@test "make livepatch patches libconv.so only; the unchanged program gets no patch" {
    run make -s -C "$TH" livepatch OLD=v1 NEW=v2
    assert_success
    assert_line "livepatch: thermo: no change"
    assert [ -f "$TH/livepatch/libconv.so.lpatch" ]
    refute [ -e "$TH/livepatch/thermo.lpatch" ]
    run jq -r '.unchanged[], .patches[].module, .patches[].functions[]' "$TH/livepatch/manifest.json"
    assert_output $'thermo\nlibconv.so\ncelsius_to_fahrenheit'
}

@test "the running program converts correctly once its library is patched, wrongly after revert" {
    [[ -f $TH/livepatch/libconv.so.lpatch ]] || make -s -C "$TH" livepatch OLD=v1 NEW=v2
    start_bg thermo "$TH/v1/thermo" 100
    log=$BATS_TEST_TMPDIR/thermo.log
    wait_for "$log" '^100 C = 132 F$'
    pid=$(bg_pid thermo)

    run "$LPATCH" apply "$pid" "$TH/livepatch/libconv.so.lpatch"
    assert_success
    : >"$log"
    wait_for "$log" '^100 C = 212 F$'
    refute_line --partial "132 F" <"$log"

    run "$LPATCH" revert "$pid"
    assert_success
    : >"$log"
    wait_for "$log" '^100 C = 132 F$'
}
