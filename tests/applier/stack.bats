#!/usr/bin/env bats
# Stacked patches (v1->v2->v3->v4), each reversible; out-of-order revert
# only when no later patch depends on the one reverted.
load helpers

B2=aa000000000000000000000000000000000000aa
B3=bb000000000000000000000000000000000000bb
B4=cc000000000000000000000000000000000000cc

setup_file() {
  build_mkpatch
  target loop loop.c
  local d=$BATS_FILE_TMPDIR
  mkpatch --new-build-id $B2 "$d/a.lpatch" "$d/loop" "compute=$COMPUTE_1001"
  mkpatch --old-build-id $B2 --new-build-id $B3 "$d/b.lpatch" "$d/loop" "compute=$COMPUTE_2001"
  mkpatch --old-build-id $B3 --new-build-id $B4 "$d/c.lpatch" "$d/loop" "compute=$COMPUTE_3001"
  mkpatch "$d/d.lpatch" "$d/loop" "other=$OTHER_107"
}

setup() {
  ST=$BATS_TEST_TMPDIR/st
  start nice -n 10 "$BATS_FILE_TMPDIR/loop" 2 "$ST"
  wait_until test -s "$ST"
}

teardown() { stop_all; }

id_of() { "$LPATCH" info --json "$1" | jq -r .id; }

@test "v1->v2->v3->v4 stack up and revert one by one" {
  local d=$BATS_FILE_TMPDIR
  run "$LPATCH" apply "$TPID" "$d/a.lpatch" "$d/b.lpatch" "$d/c.lpatch"
  assert_success
  assert_equal "$(grep -c applied <<<"$output")" 3
  grows "$ST" new3
  run "$LPATCH" list --json "$TPID"
  [[ $(jq '.patches | length' <<<"$output") == 3 ]]
  "$LPATCH" revert "$TPID"
  grows "$ST" new2
  "$LPATCH" revert "$TPID"
  grows "$ST" new1
  "$LPATCH" revert "$TPID"
  grows "$ST" old
  [[ $(field "$ST" bad) == 0 ]]
}

@test "a patch for v3 is refused on v1 and accepted once v2 is in place" {
  local d=$BATS_FILE_TMPDIR
  run "$LPATCH" apply "$TPID" "$d/c.lpatch"
  assert_failure 1
  assert_output --partial "maps no module with build-id $B3"
  run "$LPATCH" apply "$TPID" "$d/a.lpatch" "$d/b.lpatch"
  assert_success
  run "$LPATCH" check "$TPID" "$d/c.lpatch"
  assert_success
  assert_output --partial "on top of an applied patch"
  run "$LPATCH" apply "$TPID" "$d/c.lpatch"
  assert_success
  grows "$ST" new3
}

@test "a patch something later depends on cannot be reverted out of order" {
  local d=$BATS_FILE_TMPDIR a b
  a=$(id_of "$d/a.lpatch")
  b=$(id_of "$d/b.lpatch")
  "$LPATCH" apply "$TPID" "$d/a.lpatch" "$d/b.lpatch"
  run "$LPATCH" revert "$TPID" "${a:0:12}"
  assert_failure 1
  assert_output --partial "patch $b, applied later, depends on it"
  grows "$ST" new2
  run "$LPATCH" revert "$TPID" "${b:0:8}"
  assert_success
  grows "$ST" new1
}

@test "independent patches revert in any order" {
  local d=$BATS_FILE_TMPDIR a
  a=$(id_of "$d/a.lpatch")
  "$LPATCH" apply "$TPID" "$d/a.lpatch" "$d/d.lpatch"
  grows "$ST" new1
  run "$LPATCH" revert "$TPID" "$a"
  assert_success
  grows "$ST" old
  run "$LPATCH" list --json "$TPID"
  [[ $(jq -r '.patches[0].functions[0].name' <<<"$output") == other ]]
  # other() is still patched: x+107 counts as good, compute is back to x+1
  run "$LPATCH" revert "$TPID"
  assert_success
  [[ $(field "$ST" bad) == 0 ]]
}
