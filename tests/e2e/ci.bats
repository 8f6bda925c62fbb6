#!/usr/bin/env bats
# samples/ci/livepatch-ci.sh: the pipeline step builds patches from every
# release in a tag range to the newest tag, with manifests and an index.
load ../lib/common
load helpers

setup_file() {
    export REPO=$BATS_FILE_TMPDIR/repo
    local kv=$BATS_FILE_TMPDIR/kv v
    copy_sample kvserver "$kv"
    mkdir -p "$REPO"
    git -C "$REPO" init -q
    for v in v1 v2 v3; do
        cp "$kv/$v"/* "$REPO/"
        git -C "$REPO" add .
        git -C "$REPO" -c user.name=ci -c user.email=ci@example.com commit -qm "release $v"
        git -C "$REPO" tag "$v"
    done
}

ci() {
    "$LP_TOP/samples/ci/livepatch-ci.sh" -C "$REPO" "$@" \
        -f "$LP_MK" LIVEPATCH_MODULES=kvserver
}

@test "the CI step writes one manifest per release in the range, and an index" {
    run ci -o "$BATS_TEST_TMPDIR/out" -p "$BATS_TEST_TMPDIR/store" v1..v3
    assert_success
    assert_line "livepatch-ci: v1 -> v3"
    assert_line "livepatch-ci: v2 -> v3"
    out=$BATS_TEST_TMPDIR/out
    for rel in v1 v2; do
        assert [ -f "$out/$rel-to-v3/kvserver.lpatch" ]
        run jq -r '.old.rev, .new.rev, .patches[0].module, .patches[0].old_build_id' \
            "$out/$rel-to-v3/manifest.json"
        assert_line --index 0 "$rel"
        assert_line --index 1 v3
        assert_line --index 2 kvserver
        assert_line --index 3 "$(build_id "$REPO/.livepatch/build/$rel/kvserver")"
    done
    # v1 needs both fixes, v2 only the second
    run jq -r '.patches[0].functions | sort | join(" ")' "$out/v1-to-v3/manifest.json"
    assert_output "kv_handle kv_range"
    run jq -r '.patches[0].functions | join(" ")' "$out/v2-to-v3/manifest.json"
    assert_output "kv_handle"
    run jq -r '.target, (.releases | map(.old.rev) | join(" "))' "$out/index.json"
    assert_output $'v3\nv1 v2'
    # published: the same tree in the artifact store, under the target tag
    run diff -r "$out" "$BATS_TEST_TMPDIR/store/v3"
    assert_success
}

@test "the CI step fails on a bad range and names it" {
    run ci -o "$BATS_TEST_TMPDIR/out" v1..v9
    assert_failure 2
    assert_output --partial "v9: no such tag or revision"
}

@test "the CI step exits 3 when a release's change is refused, with lpdiff's message" {
    repo=$BATS_TEST_TMPDIR/refusing
    mkdir -p "$repo"
    git -C "$repo" init -q
    n=0
    for side in old new; do
        cp "$LP_TOP/samples/refused/struct-field/$side/prog.c" \
            "$LP_TOP/samples/refused/struct-field/$side/Makefile" "$repo/"
        git -C "$repo" add .
        git -C "$repo" -c user.name=ci -c user.email=ci@example.com commit -qm "$side"
        git -C "$repo" tag "r$((++n))"
    done
    run "$LP_TOP/samples/ci/livepatch-ci.sh" -C "$repo" -o "$BATS_TEST_TMPDIR/out" r1..r2 \
        -f "$LP_MK" LIVEPATCH_MODULES=prog
    assert_failure 3
    assert_output --partial "refused [LAYOUT_TYPE] type struct session"
    assert_output --partial "livepatch-ci: r1 -> r2: refused"
}
