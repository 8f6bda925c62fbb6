#!/usr/bin/env bats
# 1, 8 and 64 threads call the patched function in a tight loop and check
# every result while patches are applied and reverted over and over.
load helpers

setup_file() {
  build_mkpatch
  target loop loop.c
  target churn loop.c -DCHURN
  target spawner spawner.c
  mkpatch "$BATS_FILE_TMPDIR/spawner.lpatch" "$BATS_FILE_TMPDIR/spawner" "compute=$COMPUTE_1001"
  mkpatch "$BATS_FILE_TMPDIR/p1.lpatch" "$BATS_FILE_TMPDIR/loop" "compute=$COMPUTE_1001"
  mkpatch "$BATS_FILE_TMPDIR/p2.lpatch" "$BATS_FILE_TMPDIR/loop" \
    "compute=$COMPUTE_2001" "other=$OTHER_107"
  mkpatch "$BATS_FILE_TMPDIR/churn.lpatch" "$BATS_FILE_TMPDIR/churn" "compute=$COMPUTE_1001"
}

teardown() { stop_all; }

cycle() { # THREADS ROUNDS
  local st=$BATS_TEST_TMPDIR/st i
  # nice: the busy threads must not starve the test harness on 2 cores; a
  # generous --timeout: a niced thread on a loaded machine may wait seconds
  # for a CPU before it can enter the stop
  start nice -n 10 "$BATS_FILE_TMPDIR/loop" "$1" "$st"
  wait_until test -s "$st"
  for ((i = 0; i < $2; i++)); do
    run "$LPATCH" apply --timeout 60000 --stats "$TPID" "$BATS_FILE_TMPDIR/p1.lpatch"
    assert_success
    assert_output --partial "$(($1 + 1)) thread(s)" # every thread was held
    grows "$st" new1
    run "$LPATCH" revert --timeout 60000 "$TPID"
    assert_success
    grows "$st" old
    run "$LPATCH" apply --timeout 60000 "$TPID" "$BATS_FILE_TMPDIR/p2.lpatch"
    assert_success
    grows "$st" new2
    run "$LPATCH" revert --timeout 60000 "$TPID"
    assert_success
  done
  grows "$st" calls
  [[ $(field "$st" bad) == 0 ]]
  running "$TPID"
  run "$LPATCH" list "$TPID"
  assert_output --partial "0 patches"
}

@test "1 busy thread: every call returns old or new, never anything else" {
  cycle 1 2
}

@test "8 busy threads: every call returns old or new, never anything else" {
  cycle 8 1
}

@test "64 busy threads: every call returns old or new, never anything else" {
  cycle 64 1
}

@test "threads stopped inside the replaced body are run out of it by lpatch, no call goes wrong" {
  local st=$BATS_TEST_TMPDIR/st i emulated=0 stepped=0 n
  start nice -n 10 "$BATS_FILE_TMPDIR/churn" 8 "$st"
  wait_until test -s "$st"
  for ((i = 0; i < 6; i++)); do
    run "$LPATCH" apply --timeout 60000 --stats --json "$TPID" "$BATS_FILE_TMPDIR/churn.lpatch"
    assert_success
    n=$(jq '[.. | .emulated? // empty] | add' <<<"$output")
    emulated=$((emulated + n))
    stepped=$((stepped + $(jq '[.. | .stepped? // empty] | add' <<<"$output")))
    grows "$st" new1
    run "$LPATCH" revert --timeout 60000 "$TPID"
    assert_success
    grows "$st" old
  done
  echo "threads run out by lpatch: $emulated, single-stepped: $stepped" >&3
  ((emulated > 0))
  ((stepped == 0)) # compute is all register work: nothing left to single-step
  grows "$st" calls
  [[ $(field "$st" bad) == 0 ]]
  running "$TPID"
}

@test "threads that exit while lpatch stops them (thread per request) are not a ptrace refusal" {
  # a thread that exited is refused by ptrace with EPERM, and may be reaped
  # before lpatch looks: it was taken for "another tracer" (sessions sample)
  local st=$BATS_TEST_TMPDIR/st i
  start nice -n 10 "$BATS_FILE_TMPDIR/spawner" "$st"
  wait_until test -s "$st"
  for ((i = 0; i < 15; i++)); do
    run "$LPATCH" apply --timeout 60000 "$TPID" "$BATS_FILE_TMPDIR/spawner.lpatch"
    assert_success
    grows "$st" new1
    run "$LPATCH" revert --timeout 60000 "$TPID"
    assert_success
    grows "$st" old
  done
  [[ $(field "$st" bad) == 0 ]]
  running "$TPID"
}
