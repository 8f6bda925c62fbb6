#!/usr/bin/env bats
# The tools as the user names them: LPDIFF, LPATCH and LIVEPATCH_PLUGIN given
# as absolute paths, paths relative to where make runs (with
# and without -C), or names on PATH, in the environment or on make's command
# line.  make livepatch must work with each, and the top-level make must pass
# them through untouched (it once exported its own relative build/bin/lpdiff).
load ../lib/common
load helpers

setup() {
    KV=$BATS_TEST_TMPDIR/kv
    copy_sample kvserver "$KV"
    tools=$BATS_TEST_TMPDIR/tools
    mkdir -p "$tools"
    ln -s "$LPDIFF" "$tools/lpdiff"
    ln -s "$LPATCH" "$tools/lpatch"
    ln -s "$LP_PLUGIN" "$tools/livepatch.so"
}

# The patch was written and the manifest names it by the id lpatch reads.
assert_patched() {
    assert [ -f "$KV/livepatch/kvserver.lpatch" ]
    id=$("$LPATCH" info --json "$KV/livepatch/kvserver.lpatch" | jq -r .id)
    run jq -r '.patches[0].id, .patches[0].old_build_id' "$KV/livepatch/manifest.json"
    assert_line --index 0 "$id"
    assert_line --index 1 "$(build_id "$KV/.livepatch/build/v1/kvserver")"
    rm -rf "$KV/livepatch"
}

@test "make livepatch: LPDIFF and LPATCH as absolute paths, in the environment and on the command line" {
    LPDIFF=$tools/lpdiff LPATCH=$tools/lpatch run make -s -C "$KV" livepatch OLD=v1 NEW=v2
    assert_success
    assert_patched
    run make -s -C "$KV" livepatch OLD=v1 NEW=v2 LPDIFF="$tools/lpdiff" LPATCH="$tools/lpatch"
    assert_success
    assert_patched
}

@test "make livepatch: relative paths, from where make runs (with -C) and from the project" {
    cd "$BATS_TEST_TMPDIR"
    LPDIFF=tools/lpdiff LPATCH=tools/lpatch run make -s -C kv livepatch OLD=v1 NEW=v2
    assert_success
    assert_patched
    run make -s -C kv livepatch OLD=v1 NEW=v2 LPDIFF=tools/lpdiff LPATCH=./tools/lpatch
    assert_success
    assert_patched
    cd "$KV"
    LPDIFF=../tools/lpdiff LPATCH=../tools/lpatch run make -s livepatch OLD=v1 NEW=v2
    assert_success
    assert_patched
}

@test "make livepatch: tools as names on PATH, the plugin as a relative path" {
    cd "$BATS_TEST_TMPDIR"
    PATH=$tools:$PATH LPDIFF=lpdiff LPATCH=lpatch LIVEPATCH_PLUGIN=tools/livepatch.so \
        run make -s -C kv livepatch OLD=v1 NEW=v2
    assert_success
    assert_patched
    cd "$KV"
    run make -s livepatch OLD=v1 NEW=v2 LIVEPATCH_PLUGIN=../tools/livepatch.so
    assert_success
    assert_patched
    run make -s livepatch-cc LIVEPATCH_PLUGIN=../tools/livepatch.so
    assert_output --partial "-fplugin=$tools/livepatch.so "
}

@test "make livepatch: a tool that is not there is one error line naming it" {
    run make -s -C "$KV" livepatch OLD=v1 NEW=v2 LPDIFF=no/such/lpdiff
    assert_failure
    assert_output --partial "lpdiff not found: $KV/no/such/lpdiff"
    run make -s -C "$KV" livepatch OLD=v1 NEW=v2 LPATCH=no-such-lpatch
    assert_failure
    assert_output --partial "lpatch not found: no-such-lpatch"
}

@test "the top-level make passes LPDIFF, LPATCH and the plugin through to make demo untouched" {
    # a rule printing what its recipe's environment holds ($$: make's, not ours)
    # shellcheck disable=SC2016
    show='lp-show-tools: ; @echo "$$LPDIFF $$LPATCH $$LP_PLUGIN"'
    for how in env cmdline; do
        if [[ $how == env ]]; then
            run env LPDIFF=/opt/x/lpdiff LPATCH=/opt/x/lpatch LP_PLUGIN=/opt/x/lp.so \
                make -s -C "$LP_TOP" --eval "$show" lp-show-tools
        else
            run make -s -C "$LP_TOP" LPDIFF=/opt/x/lpdiff LPATCH=/opt/x/lpatch LP_PLUGIN=/opt/x/lp.so \
                --eval "$show" lp-show-tools
        fi
        assert_success
        assert_output "/opt/x/lpdiff /opt/x/lpatch /opt/x/lp.so"
    done
    # and the tools it builds stay its own
    # shellcheck disable=SC2016
    run make -s -C "$LP_TOP" LPDIFF=/opt/x/lpdiff LPATCH=/opt/x/lpatch \
        --eval 'lp-show-tools: ; @echo $(ALL_TARGETS)' lp-show-tools
    assert_success
    refute_output --partial /opt/x
}
