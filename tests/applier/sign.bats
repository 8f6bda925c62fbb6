#!/usr/bin/env bats
# Signatures: lpatch keygen, sign and verify, and the policy of the keys
# directory ($LIVEPATCH_KEYS_DIR): with keys in it, apply and check refuse an
# unsigned patch, a tampered one and one signed by an unknown key, with one
# line naming the file and the reason, exit 1, the target untouched; with
# none, unsigned patches apply as before and info says so.
load helpers

setup_file() {
  build_mkpatch
  target loop loop.c
  local d=$BATS_FILE_TMPDIR
  mkpatch "$d/p1.lpatch" "$d/loop" "compute=$COMPUTE_1001"
  mkpatch "$d/p3.lpatch" "$d/loop" "compute=$COMPUTE_3001"
  "$LPATCH" keygen --out "$d" ops >"$d/keygen.out"
  "$LPATCH" keygen --out "$d" stranger >/dev/null
}

setup() {
  K=$BATS_TEST_TMPDIR/keys
  mkdir -p "$K"
  cp "$BATS_FILE_TMPDIR/ops.pub" "$K/"
  export LIVEPATCH_KEYS_DIR=$K
  P=$BATS_TEST_TMPDIR/p1.lpatch
  cp "$BATS_FILE_TMPDIR/p1.lpatch" "$P"
  start "$BATS_FILE_TMPDIR/loop" 1 "$BATS_TEST_TMPDIR/st"
  wait_until test -s "$BATS_TEST_TMPDIR/st"
}

teardown() { stop_all; }

sign_with() { "$LPATCH" sign --key "$BATS_FILE_TMPDIR/$1.sec" "${@:2}"; }

# The process still runs the old code and holds no patch.
untouched() {
  grows "$BATS_TEST_TMPDIR/st" old
  [[ $(field "$BATS_TEST_TMPDIR/st" new1) == 0 ]]
  run "$LPATCH" list "$TPID"
  assert_success
  assert_output --partial "0 patches"
  [[ $(maps_of "$TPID") == "$MAPS_BEFORE" ]]
}

@test "keygen makes NAME.sec (0600) and NAME.pub, prints the key id, never overwrites" {
  local d=$BATS_FILE_TMPDIR id
  id=$(sed -n 's/^key id \([0-9a-f]\{16\}\)$/\1/p' "$d/keygen.out")
  [[ -n $id ]]
  [[ $(stat -c %a "$d/ops.sec") == 600 ]]
  [[ -s $d/ops.pub ]]
  # the id is the key's: a file signed with it names it
  run sign_with ops "$P"
  assert_success
  assert_output "signed $P with key $id: $P.sig"
  run "$LPATCH" keygen --out "$d" ops
  assert_failure 2
  assert_output "lpatch: keygen: $d/ops.pub: exists; not overwritten"
  run "$LPATCH" keygen --out "$BATS_TEST_TMPDIR/nonexistent" x
  assert_failure 2
  assert_output --partial "nonexistent/x.sec: cannot create"
}

@test "sign, then verify: good by a key of the keys directory, exit 0" {
  sign_with ops "$P"
  run "$LPATCH" verify "$P"
  assert_success
  assert_output --regexp "^$P: good signature, key [0-9a-f]{16} \($K/ops.pub\)$"
  run "$LPATCH" verify --json "$P"
  assert_success
  [[ $(jq -r .status <<<"$output") == good ]]
  [[ $(jq -r .enforced <<<"$output") == true ]]
}

@test "the files are signify's: signify-openbsd checks our signature, we check its" {
  command -v signify-openbsd || skip "signify-openbsd not installed (make deps)"
  sign_with ops "$P"
  run signify-openbsd -V -p "$BATS_FILE_TMPDIR/ops.pub" -m "$P"
  assert_success
  assert_output "Signature Verified"
  run signify-openbsd -V -p "$BATS_FILE_TMPDIR/stranger.pub" -m "$P"
  assert_failure
  # signify signs with our secret key; we verify it
  rm "$P.sig"
  signify-openbsd -S -s "$BATS_FILE_TMPDIR/ops.sec" -m "$P"
  run "$LPATCH" verify "$P"
  assert_success
  # and a key signify made is one we accept
  signify-openbsd -G -n -p "$BATS_TEST_TMPDIR/s.pub" -s "$BATS_TEST_TMPDIR/s.sec"
  cp "$BATS_TEST_TMPDIR/s.pub" "$K/"
  "$LPATCH" sign --key "$BATS_TEST_TMPDIR/s.sec" "$P"
  run "$LPATCH" verify "$P"
  assert_success
  assert_output --partial "($K/s.pub)"
}

@test "with keys: a good signature applies, info and check say so" {
  sign_with ops "$P"
  run "$LPATCH" info "$P"
  assert_success
  assert_output --regexp "signature: good, key [0-9a-f]{16} \($K/ops.pub\)"
  run "$LPATCH" info --json "$P"
  [[ $(jq -r .signature.status <<<"$output") == good ]]
  run "$LPATCH" check "$TPID" "$P"
  assert_success
  assert_output --partial "applicable"
  run "$LPATCH" apply "$TPID" "$P"
  assert_success
  grows "$BATS_TEST_TMPDIR/st" new1
}

@test "with keys: an unsigned patch is refused, exit 1, target untouched" {
  MAPS_BEFORE=$(maps_of "$TPID")
  run "$LPATCH" apply "$TPID" "$P"
  assert_failure 1
  assert_output "lpatch: $P: refused: unsigned (no .sig; $K requires signatures)"
  untouched
  run "$LPATCH" check "$TPID" "$P"
  assert_failure 1
  assert_output "lpatch: $P: refused: unsigned (no .sig; $K requires signatures)"
  run "$LPATCH" info "$P"
  assert_success
  assert_output --partial "signature: unsigned (no .sig; $K requires signatures); lpatch apply refuses it"
}

@test "with keys: a tampered patch is refused, even one that is a well-formed patch" {
  MAPS_BEFORE=$(maps_of "$TPID")
  sign_with ops "$P"
  # one byte of the code: lea 1001 becomes lea 1002
  local t=$BATS_TEST_TMPDIR/t.lpatch
  cp "$P" "$t"
  cp "$P.sig" "$t.sig"
  local off
  off=$(LC_ALL=C grep -obUaP '\x8d\x87\xe9\x03\x00\x00\xc3' "$t" | head -1 | cut -d: -f1)
  [[ -n $off ]]
  printf '\xea' | dd of="$t" bs=1 seek=$((off + 2)) conv=notrunc status=none
  run "$LPATCH" apply "$TPID" "$t"
  assert_failure 1
  assert_output --regexp "^lpatch: $t: refused: bad signature: $t.sig does not match the file \(key [0-9a-f]{16}\)$"
  untouched
  # another well-formed patch under p1's signature: still refused
  local w=$BATS_TEST_TMPDIR/w.lpatch
  cp "$BATS_FILE_TMPDIR/p3.lpatch" "$w"
  cp "$P.sig" "$w.sig"
  LIVEPATCH_KEYS_DIR=$BATS_TEST_TMPDIR/none run "$LPATCH" info "$w"
  assert_success # it is a patch the loader accepts
  run "$LPATCH" apply "$TPID" "$w"
  assert_failure 1
  assert_output --partial "$w: refused: bad signature: $w.sig does not match the file"
  untouched
  # a .sig that is not one
  echo garbage >"$w.sig"
  run "$LPATCH" apply "$TPID" "$w"
  assert_failure 1
  assert_output "lpatch: $w: refused: bad signature: $w.sig: first line is not 'untrusted comment: ...'"
  untouched
}

@test "with keys: a patch signed by an unknown key is refused" {
  MAPS_BEFORE=$(maps_of "$TPID")
  sign_with stranger "$P"
  run "$LPATCH" apply "$TPID" "$P"
  assert_failure 1
  assert_output --regexp "^lpatch: $P: refused: signed by unknown key [0-9a-f]{16} \(not in $K\)$"
  untouched
  run "$LPATCH" verify "$P"
  assert_failure 1
  # in a list of patches, the refused one stops all before any is applied
  cp "$BATS_FILE_TMPDIR/p1.lpatch" "$BATS_TEST_TMPDIR/ok.lpatch"
  sign_with ops "$BATS_TEST_TMPDIR/ok.lpatch"
  run "$LPATCH" apply "$TPID" "$BATS_TEST_TMPDIR/ok.lpatch" "$P"
  assert_failure 1
  untouched
}

@test "no keys directory: unsigned patches apply as before, info says unsigned" {
  export LIVEPATCH_KEYS_DIR=$BATS_TEST_TMPDIR/nonexistent
  run "$LPATCH" info "$P"
  assert_success
  assert_output --partial "signature: unsigned (allowed: no keys in $LIVEPATCH_KEYS_DIR)"
  run "$LPATCH" info --json "$P"
  [[ $(jq -r .signature.status,.signature.enforced <<<"$output") == $'unsigned\nfalse' ]]
  run "$LPATCH" verify "$P"
  assert_failure 1
  run "$LPATCH" apply "$TPID" "$P"
  assert_success
  grows "$BATS_TEST_TMPDIR/st" new1
}

@test "an empty keys directory enforces nothing; a damaged key file is named, exit 2" {
  rm "$K/ops.pub"
  run "$LPATCH" check "$TPID" "$P"
  assert_success
  echo 'untrusted comment: x' >"$K/bad.pub"
  echo 'not base64!' >>"$K/bad.pub"
  run "$LPATCH" apply "$TPID" "$P"
  assert_failure 2
  assert_output "lpatch: $P: cannot check its signature: $K/bad.pub: second line is not base64 of 42 bytes"
}

@test "a keys directory or key others may write is not trusted: named, exit 2" {
  chmod 757 "$K"
  run "$LPATCH" apply "$TPID" "$P"
  assert_failure 2
  assert_output "lpatch: $P: cannot check its signature: $K: writable by group or others (mode 757); not trusted"
  chmod 755 "$K"
  chmod 664 "$K/ops.pub"
  run "$LPATCH" verify "$P"
  assert_failure 2
  assert_output --partial "$K/ops.pub: writable by group or others (mode 664); not trusted"
  run "$LPATCH" list "$TPID"
  assert_output --partial "0 patches"
}

@test "sign needs --key; bad key files are named" {
  run "$LPATCH" sign "$P"
  assert_failure 2
  assert_output "lpatch: sign: expected --key SECRET"
  run "$LPATCH" sign --key "$BATS_FILE_TMPDIR/ops.pub" "$P"
  assert_failure 2
  assert_output "lpatch: sign: $BATS_FILE_TMPDIR/ops.pub: second line is not base64 of 104 bytes"
  run "$LPATCH" sign --key "$BATS_FILE_TMPDIR/ops.sec" "$BATS_TEST_TMPDIR/nope"
  assert_failure 2
  assert_output --partial "nope: cannot open"
}

@test "--help documents the signing commands, the keys directory and the refusal's exit" {
  run "$LPATCH" --help
  assert_success
  assert_output --partial "keygen NAME"
  assert_output --partial "sign --key SECRET FILE..."
  assert_output --partial "verify FILE..."
  assert_output --partial "LIVEPATCH_KEYS_DIR"
  assert_output --partial "unsigned, unknown key or bad"
}
