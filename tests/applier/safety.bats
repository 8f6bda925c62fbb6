#!/usr/bin/env bats
# The stack check: a thread inside the function is refused (after bounded
# retries, naming thread and function), accepted once it leaves or when the
# function may stay active; a thread blocked in a syscall in the caller is
# no obstacle and its syscall survives the remote calls.
load helpers

NAP_2='b8 02 00 00 00 c3'   # mov $2,%eax; ret

setup_file() {
  build_mkpatch
  target napper napper.c
  target blocker blocker.c
  mkpatch "$BATS_FILE_TMPDIR/nap.lpatch" "$BATS_FILE_TMPDIR/napper" "nap=$NAP_2"
  mkpatch "$BATS_FILE_TMPDIR/nap-active.lpatch" "$BATS_FILE_TMPDIR/napper" "!nap=$NAP_2"
  mkpatch "$BATS_FILE_TMPDIR/blk.lpatch" "$BATS_FILE_TMPDIR/blocker" "compute=$COMPUTE_1001"
}

teardown() { stop_all; }

start_napper() {
  GATE=$BATS_TEST_TMPDIR/gate ST=$BATS_TEST_TMPDIR/st
  start "$BATS_FILE_TMPDIR/napper" "$GATE" "$ST"
  sleep 0.1 # inside nap(), sleeping
}

@test "a thread sleeping inside the function is refused after the retries, then accepted once it leaves" {
  start_napper
  run "$LPATCH" apply --retries 3 --backoff 1 "$TPID" "$BATS_FILE_TMPDIR/nap.lpatch"
  assert_failure 1
  assert_output --partial "not safe after 3 tries"
  assert_output --regexp "thread $TPID has nap on its stack"
  running "$TPID"
  run "$LPATCH" list "$TPID"
  assert_output --partial "0 patches"
  touch "$GATE"
  wait_until grep -q 'nap=1' "$ST"
  run "$LPATCH" apply "$TPID" "$BATS_FILE_TMPDIR/nap.lpatch"
  assert_success
  wait_until grep -q 'nap=2' "$ST"
}

@test "--json reports the refusal with its reason" {
  start_napper
  run "$LPATCH" apply --json --retries 2 --backoff 1 "$TPID" "$BATS_FILE_TMPDIR/nap.lpatch"
  assert_failure 1
  [[ $(jq -r .status <<<"$output") == failed ]]
  jq -r .error <<<"$output" | grep -q "nap on its stack"
}

@test "a function the patch marks as allowed to stay active is patched while a thread is in it" {
  start_napper
  run "$LPATCH" apply --retries 2 "$TPID" "$BATS_FILE_TMPDIR/nap-active.lpatch"
  assert_success
  # the sleeping activation finishes on old code; the next call is new
  touch "$GATE"
  wait_until grep -q 'nap=2' "$ST"
}

@test "--allow-active FUNC does the same from the command line" {
  start_napper
  run "$LPATCH" apply --retries 2 --allow-active nap "$TPID" "$BATS_FILE_TMPDIR/nap.lpatch"
  assert_success
  run "$LPATCH" apply --allow-active nosuch "$TPID" "$BATS_FILE_TMPDIR/nap.lpatch"
  assert_failure 2
  assert_output --partial "--allow-active nosuch: no such function in the patch"
}

@test "revert is refused while a thread runs the new code, then done" {
  start_napper
  touch "$GATE"
  wait_until grep -q 'nap=1' "$ST"
  "$LPATCH" apply "$TPID" "$BATS_FILE_TMPDIR/nap-active.lpatch"
  wait_until grep -q 'nap=2' "$ST"
  run "$LPATCH" revert "$TPID"
  assert_success
  wait_until grep -q 'nap=1' "$ST"
}

@test "a thread blocked in a syscall in the caller: applied at once, its read() survives" {
  local fifo=$BATS_TEST_TMPDIR/fifo st=$BATS_TEST_TMPDIR/st
  mkfifo "$fifo"
  start "$BATS_FILE_TMPDIR/blocker" "$fifo" "$st"
  wait_until grep -q ready "$st"
  echo x >"$fifo" # one byte + newline: two calls of old code
  wait_until grep -q 'r=42 reads=2' "$st"
  run "$LPATCH" apply --stats "$TPID" "$BATS_FILE_TMPDIR/blk.lpatch"
  assert_success
  assert_output --partial "1 try"
  printf y >"$fifo"
  wait_until grep -q 'r=1042 reads=3' "$st"
  run "$LPATCH" revert "$TPID"
  assert_success
  printf z >"$fifo"
  wait_until grep -q 'r=42 reads=4' "$st"
  running "$TPID"
}
