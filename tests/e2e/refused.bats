#!/usr/bin/env bats
# samples/refused: every change lpdiff must refuse fails `make livepatch`
# with the differ's message, and leaves no patch behind.
load ../lib/common
load helpers

setup_file() {
    export RF=$BATS_FILE_TMPDIR/refused
    copy_sample refused "$RF"
}

refused_case() {
    run make -s -C "$RF" livepatch OLD="$1/old" NEW="$1/new" LIVEPATCH_OUT="out/$1"
    assert_failure
    assert_line "livepatch: prog: refused by lpdiff (see the messages above)"
    assert_output --regexp "$(cat "$RF/$1/expected")"
    refute [ -e "$RF/out/$1/prog.lpatch" ]
    refute [ -e "$RF/out/$1/manifest.json" ]
}

@test "refused: a struct gains a field" {
    refused_case struct-field
}

@test "refused: a global is resized" {
    refused_case global-resized
}

@test "refused: a writable initializer changes" {
    refused_case data-init
}

@test "make check-refusals runs every case" {
    run make -s -C "$RF" check-refusals
    assert_success
    assert_line --partial "struct-field: refused"
    assert_line --partial "global-resized: refused"
    assert_line --partial "data-init: refused"
}

@test "the author accepts refusals through LIVEPATCH_LPDIFF_FLAGS; the report records them" {
    # the struct-field case, accepted deliberately; a file named like the
    # pattern shows it is not globbed
    touch "$RF/LAYOUT_TYPE:x"
    run make -s -C "$RF" livepatch OLD=struct-field/old NEW=struct-field/new \
        LIVEPATCH_OUT=out/accepted LIVEPATCH_LPDIFF_FLAGS='--accept LAYOUT_TYPE:* --accept GLOBAL_SIZE:sessions'
    assert_success
    [ -s "$RF/out/accepted/prog.lpatch" ]
    run jq -r '[.accepted[].code] | sort | join(" ")' "$RF/out/accepted/prog.json"
    assert_output "GLOBAL_SIZE LAYOUT_TYPE"
}
