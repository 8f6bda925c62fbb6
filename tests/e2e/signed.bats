#!/usr/bin/env bats
# make livepatch LIVEPATCH_SIGN_KEY=NAME.sec signs every patch it writes and
# the manifest; a host whose keys directory holds NAME.pub applies the signed
# patch to the running kvserver while a client loop uses it, and refuses the
# same patch once it is tampered with or its signature is gone.
load ../lib/common
load helpers

setup_file() {
    export KV=$BATS_FILE_TMPDIR/kvserver
    copy_sample kvserver "$KV"
    make -s -C "$KV" all >"$BATS_FILE_TMPDIR/build.log" 2>&1
    "$LPATCH" keygen --out "$BATS_FILE_TMPDIR" release >/dev/null
    mkdir -p "$BATS_FILE_TMPDIR/keys"
    cp "$BATS_FILE_TMPDIR/release.pub" "$BATS_FILE_TMPDIR/keys/"
}

setup() {
    export LIVEPATCH_KEYS_DIR=$BATS_FILE_TMPDIR/keys
}

teardown() {
    stop_all
}

key_id() { "$LPATCH" verify --json "$1" | jq -r .key_id; }

@test "make livepatch LIVEPATCH_SIGN_KEY signs the patch and the manifest; the manifest names the key" {
    run make -s -C "$KV" livepatch OLD=v1 NEW=v2 LIVEPATCH_SIGN_KEY="$BATS_FILE_TMPDIR/release.sec"
    assert_success
    local out=$KV/livepatch made=$output
    assert [ -f "$out/kvserver.lpatch.sig" ]
    assert [ -f "$out/manifest.json.sig" ]
    run "$LPATCH" verify "$out/kvserver.lpatch" "$out/manifest.json"
    assert_success
    assert_line --regexp "^$out/kvserver.lpatch: good signature"
    assert_line --regexp "^$out/manifest.json: good signature"
    id=$(key_id "$out/kvserver.lpatch")
    [[ $id =~ ^[0-9a-f]{16}$ ]]
    run printf "%s\n" "$made"
    assert_line "livepatch: signed kvserver.lpatch (key $id)"
    assert_line "livepatch: signed manifest.json (key $id)"
    run jq -r '.patches[0].signature, .patches[0].key_id' "$out/manifest.json"
    assert_line --index 0 kvserver.lpatch.sig
    assert_line --index 1 "$id"
    # the manifest's sha256 is of the signed bytes
    run jq -r '.patches[0].sha256' "$out/manifest.json"
    assert_output "$(sha256sum "$out/kvserver.lpatch" | cut -d' ' -f1)"
}

@test "the signed patch applies to the running server; tampered or unsigned, it is refused" {
    local out=$KV/livepatch patch=$KV/livepatch/kvserver.lpatch
    [[ -f $patch.sig ]] ||
        make -s -C "$KV" livepatch OLD=v1 NEW=v2 LIVEPATCH_SIGN_KEY="$BATS_FILE_TMPDIR/release.sec"
    start_kvserver "$KV/v1/kvserver"
    start_bg loop "$KV/kvclient" -p "$KV_PORT" -l -c 4
    sleep 0.2
    run kv_probe
    assert_output "VALUE hipersecret"

    # a copy without its signature, and one with a byte changed after signing
    cp "$patch" "$BATS_TEST_TMPDIR/unsigned.lpatch"
    cp "$patch" "$BATS_TEST_TMPDIR/tampered.lpatch"
    cp "$patch.sig" "$BATS_TEST_TMPDIR/tampered.lpatch.sig"
    printf 'x' | dd of="$BATS_TEST_TMPDIR/tampered.lpatch" bs=1 seek=200 conv=notrunc status=none
    run "$LPATCH" apply "$KV_PID" "$BATS_TEST_TMPDIR/unsigned.lpatch"
    assert_failure 1
    assert_output --partial "unsigned.lpatch: refused: unsigned"
    run "$LPATCH" apply "$KV_PID" "$BATS_TEST_TMPDIR/tampered.lpatch"
    assert_failure 1
    assert_output --partial "tampered.lpatch: refused: bad signature"
    run kv_probe
    assert_output "VALUE hipersecret"
    run "$LPATCH" list "$KV_PID"
    assert_output --partial "0 patches"

    run "$LPATCH" apply "$KV_PID" "$patch"
    assert_success
    run kv_probe
    assert_output "ERR range out of bounds"

    kill -INT "$(bg_pid loop)"
    wait_for "$BATS_TEST_TMPDIR/loop.log" 'requests, [0-9]+ failed'
    run cat "$BATS_TEST_TMPDIR/loop.log"
    assert_output --regexp '^kvclient: [1-9][0-9]* requests, 0 failed$'
}

@test "a LIVEPATCH_SIGN_KEY that is no key file stops before any build" {
    run make -s -C "$KV" livepatch OLD=v1 NEW=v2 LIVEPATCH_SIGN_KEY=nonexistent.sec
    assert_failure 2
    assert_output --partial "LIVEPATCH_SIGN_KEY="
    assert_output --partial "nonexistent.sec: no readable secret key file"
    refute_output --partial "building"
}

@test "without LIVEPATCH_SIGN_KEY nothing is signed and stale signatures are removed" {
    run make -s -C "$KV" livepatch OLD=v1 NEW=v2
    assert_success
    refute [ -e "$KV/livepatch/kvserver.lpatch.sig" ]
    refute [ -e "$KV/livepatch/manifest.json.sig" ]
    run jq -r '.patches[0] | has("signature")' "$KV/livepatch/manifest.json"
    assert_output false
}
