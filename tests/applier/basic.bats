#!/usr/bin/env bats
# lpatch basics: info, apply/list/check/revert on one process, --json, and
# the refusals that must leave the process untouched.
load helpers

setup_file() {
  build_mkpatch
  target loop loop.c
  mkpatch "$BATS_FILE_TMPDIR/p1.lpatch" "$BATS_FILE_TMPDIR/loop" "compute=$COMPUTE_1001"
}

setup() {
  start "$BATS_FILE_TMPDIR/loop" 1 "$BATS_TEST_TMPDIR/st"
  wait_until test -s "$BATS_TEST_TMPDIR/st"
}

teardown() { stop_all; }

@test "--help documents the commands and exit codes" {
  run "$LPATCH" --help
  assert_success
  assert_output --partial "apply PID PATCH"
  assert_output --partial "revert PID [PATCH-ID]"
  assert_output --partial "3  ptrace or /proc access refused"
}

@test "usage errors exit 2 with one line naming the problem" {
  run "$LPATCH" frobnicate
  assert_failure 2
  assert_output "lpatch: unknown command 'frobnicate'; try 'lpatch --help'"
  run "$LPATCH" apply notapid "$BATS_FILE_TMPDIR/p1.lpatch"
  assert_failure 2
  assert_output --partial "not a process id: 'notapid'"
  run "$LPATCH" apply 999999999 "$BATS_FILE_TMPDIR/p1.lpatch"
  assert_failure 2
  run "$LPATCH" apply --retries x "$TPID" "$BATS_FILE_TMPDIR/p1.lpatch"
  assert_failure 2
}

@test "info describes a patch, also as JSON" {
  run "$LPATCH" info "$BATS_FILE_TMPDIR/p1.lpatch"
  assert_success
  assert_output --partial "replace compute"
  run "$LPATCH" info --json "$BATS_FILE_TMPDIR/p1.lpatch"
  assert_success
  [[ $(jq -r '.functions[0].name' <<<"$output") == compute ]]
  [[ $(jq -r '.functions[0].kind' <<<"$output") == replace ]]
}

@test "apply switches the running code, revert switches it back" {
  local st=$BATS_TEST_TMPDIR/st
  run "$LPATCH" apply "$TPID" "$BATS_FILE_TMPDIR/p1.lpatch"
  assert_success
  assert_output --partial "applied"
  grows "$st" new1
  run "$LPATCH" revert "$TPID"
  assert_success
  assert_output --partial "reverted"
  grows "$st" old
  # after the revert no call returns the patched value any more
  local n1
  n1=$(field "$st" new1)
  sleep 0.1
  [[ $(field "$st" new1) == "$n1" ]]
  [[ $(field "$st" bad) == 0 ]]
  running "$TPID"
}

@test "list and check read the state kept in the target" {
  local p=$BATS_FILE_TMPDIR/p1.lpatch
  run "$LPATCH" check "$TPID" "$p"
  assert_success
  assert_output --partial "applicable"
  run "$LPATCH" list "$TPID"
  assert_success
  assert_output --partial "0 patches"
  "$LPATCH" apply "$TPID" "$p"
  run "$LPATCH" list --json "$TPID"
  assert_success
  [[ $(jq -r '.patches[0].functions[0].name' <<<"$output") == compute ]]
  [[ $(jq -r '.patches[0].status' <<<"$output") == applied ]]
  grep -q 'memfd:livepatch-state' "/proc/$TPID/maps"
  run "$LPATCH" check --json "$TPID" "$p"
  assert_success
  [[ $(jq -r .status <<<"$output") == applied ]]
  run "$LPATCH" list --all
  assert_output --partial "process $TPID (loop): 1 patch"
  run "$LPATCH" apply "$TPID" "$p"
  assert_failure 1
  assert_output --partial "already applied"
}

@test "apply --stats and --json report the pause" {
  run "$LPATCH" apply --stats "$TPID" "$BATS_FILE_TMPDIR/p1.lpatch"
  assert_success
  assert_output --regexp "pause [0-9.]+ us \(stop [0-9.]+ incl. check [0-9.]+, write [0-9.]+, resume [0-9.]+\)"
  run "$LPATCH" revert --json --stats "$TPID"
  assert_success
  [[ $(jq -r .status <<<"$output") == reverted ]]
  jq -e '.stats.pause_us > 0' <<<"$output"
}

@test "a patch for another build is refused and the process is untouched" {
  local p=$BATS_TEST_TMPDIR/wrong.lpatch
  mkpatch --old-build-id 0123456789abcdef0123456789abcdef01234567 "$p" \
    "$BATS_FILE_TMPDIR/loop" "compute=$COMPUTE_1001"
  local before
  before=$(maps_of "$TPID")
  run "$LPATCH" apply "$TPID" "$p"
  assert_failure 1
  assert_output --partial "maps no module with build-id 0123456789abcdef"
  [[ $(maps_of "$TPID") == "$before" ]]
  run "$LPATCH" check "$TPID" "$p"
  assert_failure 1
  assert_output --partial "not applicable"
}

@test "corrupt and truncated patch files are refused with the process untouched" {
  local good=$BATS_FILE_TMPDIR/p1.lpatch bad=$BATS_TEST_TMPDIR/bad.lpatch before
  before=$(maps_of "$TPID")
  cp "$good" "$bad"
  printf '\xff' | dd of="$bad" bs=1 seek=300 conv=notrunc status=none
  run "$LPATCH" apply "$TPID" "$bad"
  assert_failure 2
  assert_output --partial "bad.lpatch"
  head -c 200 "$good" >"$bad"
  run "$LPATCH" apply "$TPID" "$bad"
  assert_failure 2
  : >"$bad"
  run "$LPATCH" apply "$TPID" "$bad"
  assert_failure 2
  [[ $(maps_of "$TPID") == "$before" ]]
  run "$LPATCH" list "$TPID"
  assert_output --partial "0 patches"
}

@test "revert with nothing applied, or an unknown id, is refused" {
  run "$LPATCH" revert "$TPID"
  assert_failure 1
  assert_output --partial "no applied patches"
  "$LPATCH" apply "$TPID" "$BATS_FILE_TMPDIR/p1.lpatch"
  run "$LPATCH" revert "$TPID" deadbeef
  assert_failure 1
  assert_output --partial "no applied patch deadbeef"
}

@test "--json is valid JSON for a process whose name is not UTF-8, and keeps UTF-8 names as they are" {
  local odd=$BATS_TEST_TMPDIR/l$'\xc3\xa9\xff'oop
  cp "$BATS_FILE_TMPDIR/loop" "$odd"
  start "$odd" 1 "$BATS_TEST_TMPDIR/st2"
  run "$LPATCH" list --json "$TPID"
  assert_success
  # valid UTF-8 throughout (jq alone would mend a stray byte while reading)
  iconv -f UTF-8 -t UTF-8 <<<"$output" >/dev/null
  # é stays é; the stray byte 0xff becomes U+FFFD
  [[ $(jq -r .comm <<<"$output") == l$'\xc3\xa9\xef\xbf\xbd'oop ]]
  [[ $(jq -r .patches <<<"$output") == "[]" ]]
}
