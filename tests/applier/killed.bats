#!/usr/bin/env bats
# lpatch SIGKILLed at every step of apply and of revert, and at random
# moments, must never kill its target; a target killed at any step must
# make lpatch stop within its --timeout with exit 2 and one clear line.
# The kill points are lpatch's test-only LPATCH_TEST_KILL_AT=k (SIGKILL
# itself at the k-th step) and LPATCH_TEST_KILL_TARGET_AT=k (SIGKILL the
# target there).  More random trials, with counts: bench/killed.bench.sh.
load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  build_mkpatch
  target churn loop.c -DCHURN
  mkpatch "$BATS_FILE_TMPDIR/p.lpatch" "$BATS_FILE_TMPDIR/churn" "compute=$COMPUTE_1001"
  gcc -O2 -o "$BATS_FILE_TMPDIR/killafter" "$APPLIER_SRC/killafter.c"
}

teardown() { stop_all; }

fresh() { # a new 8-thread target: the first apply creates the state area too
  stop_all || true
  ST=$BATS_TEST_TMPDIR/st
  rm -f "$ST"
  start nice -n 10 "$BATS_FILE_TMPDIR/churn" 8 "$ST"
  wait_until test -s "$ST"
}

# The number of test points a whole run of `lpatch CMD...` passes.
points() {
  LPATCH_TEST_TRACE=1 "$LPATCH" "$@" 2>&1 >/dev/null | grep -c '^lpatch: test point'
}

statuses() { "$LPATCH" list --json "$TPID" | jq -r '[.patches[].status] | join(",")'; }

# After lpatch died: the target lives, saw no wrong result, `list` works,
# and revert finishes whatever was left, after which apply works again.
survived() { # WHAT
  sleep 0.05 # a thread left trapping would die now
  running "$TPID" || { echo "$1: target died" >&2; return 1; }
  [[ $(field "$ST" bad) == 0 ]] || { echo "$1: wrong results: $(cat "$ST")" >&2; return 1; }
  local s
  s=$(statuses) || { echo "$1: lpatch list failed" >&2; return 1; }
  while [[ -n $s ]]; do
    "$LPATCH" revert --timeout 20000 "$TPID" >/dev/null || { echo "$1: revert failed ($s)" >&2; return 1; }
    s=$(statuses)
  done
}

@test "SIGKILL of lpatch at every step of apply never kills the target" {
  fresh
  local n k
  n=$(points apply --timeout 20000 "$TPID" "$BATS_FILE_TMPDIR/p.lpatch")
  ((n >= 10)) # every remote syscall, image, record, pad, pause, entry, release
  "$LPATCH" revert "$TPID" >/dev/null
  for ((k = 1; k <= n + 2; k++)); do
    fresh # from scratch each time: the first apply also creates the state area
    run env LPATCH_TEST_KILL_AT=$k "$LPATCH" apply --timeout 20000 "$TPID" "$BATS_FILE_TMPDIR/p.lpatch"
    ((k > n)) || [[ $status == 137 ]] # it died at step k (or got past every step)
    survived "apply killed at step $k"
    run "$LPATCH" apply --timeout 20000 "$TPID" "$BATS_FILE_TMPDIR/p.lpatch"
    assert_success
    grows "$ST" new1
    "$LPATCH" revert --timeout 20000 "$TPID" >/dev/null
  done
}

@test "SIGKILL of lpatch at every step of revert never kills the target" {
  fresh
  local n k
  "$LPATCH" apply --timeout 20000 "$TPID" "$BATS_FILE_TMPDIR/p.lpatch" >/dev/null
  n=$(points revert --timeout 20000 "$TPID")
  ((n >= 5))
  for ((k = 1; k <= n + 1; k++)); do
    "$LPATCH" apply --timeout 20000 "$TPID" "$BATS_FILE_TMPDIR/p.lpatch" >/dev/null
    run env LPATCH_TEST_KILL_AT=$k "$LPATCH" revert --timeout 20000 "$TPID"
    ((k > n)) || [[ $status == 137 ]]
    survived "revert killed at step $k"
    grows "$ST" old
  done
}

@test "SIGKILL of lpatch at random moments of apply and revert never kills the target" {
  # Known, issue #17 open: a kill while a single-step or remote syscall is
  # in flight still leaves the trap flag set (2 of 200 trials measured by
  # bench/killed.bench.sh); run it with LP_KNOWN_BUGS=1.
  [[ -n ${LP_KNOWN_BUGS:-} ]] || skip "known bug: a kill during an in-flight step can still SIGTRAP the target (bench/killed.bench.sh)"
  fresh
  local i r max=${KILLED_MAX_US:-60000}
  for ((i = 0; i < 40; i++)); do
    if ((i % 2 == 0)); then
      r=$("$BATS_FILE_TMPDIR/killafter" "$max" "$i" "$LPATCH" apply --timeout 20000 "$TPID" \
        "$BATS_FILE_TMPDIR/p.lpatch")
    else
      [[ -n $(statuses) ]] || "$LPATCH" apply --timeout 20000 "$TPID" "$BATS_FILE_TMPDIR/p.lpatch" >/dev/null
      r=$("$BATS_FILE_TMPDIR/killafter" "$max" "$i" "$LPATCH" revert --timeout 20000 "$TPID")
    fi
    [[ $r == killed* || $r == "exit 0 "* ]] # killed, or finished first
    survived "trial $i ($r)"
  done
}

@test "a target killed at any step of apply or revert: lpatch exits 2 within its timeout, one line" {
  local n k t0 ms
  fresh
  n=$(points apply --timeout 20000 "$TPID" "$BATS_FILE_TMPDIR/p.lpatch")
  "$LPATCH" revert "$TPID" >/dev/null
  for ((k = 1; k < n; k++)); do # the last point comes after the patch is live
    fresh
    t0=$(date +%s%N)
    run -2 env LPATCH_TEST_KILL_TARGET_AT=$k timeout 20 "$LPATCH" apply --timeout 3000 "$TPID" \
      "$BATS_FILE_TMPDIR/p.lpatch"
    ms=$((($(date +%s%N) - t0) / 1000000))
    ((ms < 6000)) || { echo "step $k: took $ms ms" >&2; false; }
    [[ ${#lines[@]} == 1 ]]
    assert_output "lpatch: apply $BATS_FILE_TMPDIR/p.lpatch to process $TPID: process $TPID exited during apply"
  done
  fresh
  "$LPATCH" apply --timeout 20000 "$TPID" "$BATS_FILE_TMPDIR/p.lpatch" >/dev/null
  n=$(points revert --timeout 20000 "$TPID")
  for ((k = 1; k < n; k++)); do
    fresh
    "$LPATCH" apply --timeout 20000 "$TPID" "$BATS_FILE_TMPDIR/p.lpatch" >/dev/null
    run -2 env LPATCH_TEST_KILL_TARGET_AT=$k timeout 20 "$LPATCH" revert --timeout 3000 "$TPID"
    assert_output --partial "process $TPID exited during revert"
  done
}
