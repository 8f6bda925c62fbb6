#!/usr/bin/env bats
# Guards: a target that dies during apply does not hang lpatch; lpatch
# killed mid-apply leaves a process that runs correct code; a process that
# cannot be ptraced is refused with the reason; --all / --module patch every
# process that maps the module.
load helpers

NAP_2='b8 02 00 00 00 c3'

setup_file() {
  build_mkpatch
  target napper napper.c
  target loop loop.c
  gcc -O2 -o "$BATS_FILE_TMPDIR/tracer" "$APPLIER_SRC/targets/tracer.c"
  mkpatch "$BATS_FILE_TMPDIR/nap.lpatch" "$BATS_FILE_TMPDIR/napper" "nap=$NAP_2"
  mkpatch "$BATS_FILE_TMPDIR/p1.lpatch" "$BATS_FILE_TMPDIR/loop" "compute=$COMPUTE_1001"
}

teardown() { stop_all; }

@test "the target killed during apply: lpatch returns promptly with an error" {
  local gate=$BATS_TEST_TMPDIR/gate st=$BATS_TEST_TMPDIR/st
  start "$BATS_FILE_TMPDIR/napper" "$gate" "$st"
  sleep 0.1
  # retries with long backoff keep lpatch busy while the target dies
  "$LPATCH" apply --retries 100 --backoff 50 --backoff-max 50 "$TPID" \
    "$BATS_FILE_TMPDIR/nap.lpatch" >"$BATS_TEST_TMPDIR/out" 2>&1 &
  local lp=$!
  sleep 0.5
  kill -9 "$TPID"
  local i
  for ((i = 0; i < 500; i++)); do kill -0 "$lp" 2>/dev/null || break; sleep 0.02; done
  if kill -0 "$lp" 2>/dev/null; then echo "lpatch still runs" >&2; return 1; fi
  run wait "$lp"
  ((status == 1 || status == 2))
  grep -qE "exited|no such process|not safe" "$BATS_TEST_TMPDIR/out"
}

@test "lpatch killed mid-apply leaves the process running correct code" {
  local gate=$BATS_TEST_TMPDIR/gate st=$BATS_TEST_TMPDIR/st
  start "$BATS_FILE_TMPDIR/napper" "$gate" "$st"
  sleep 0.1
  "$LPATCH" apply --retries 1000 --backoff 5 --backoff-max 5 "$TPID" \
    "$BATS_FILE_TMPDIR/nap.lpatch" >/dev/null 2>&1 &
  local lp=$!
  sleep 0.5
  kill -9 "$lp"
  wait "$lp" || true
  wait_until running "$TPID"
  touch "$gate"
  wait_until grep -q 'nap=1' "$st" # old code, still working
  # the record says what was in flight; revert finishes it, then apply works
  run "$LPATCH" list "$TPID"
  assert_output --partial "applying (interrupted)"
  run "$LPATCH" apply "$TPID" "$BATS_FILE_TMPDIR/nap.lpatch"
  assert_failure 1
  assert_output --partial "interrupted while applying"
  run "$LPATCH" revert "$TPID"
  assert_success
  run "$LPATCH" list "$TPID"
  assert_output --partial "0 patches"
  run "$LPATCH" apply "$TPID" "$BATS_FILE_TMPDIR/nap.lpatch"
  assert_success
  wait_until grep -q 'nap=2' "$st"
}

@test "a process lpatch cannot ptrace is refused with the reason, exit 3" {
  start "$BATS_FILE_TMPDIR/loop" 1 "$BATS_TEST_TMPDIR/st"
  local victim=$TPID
  start "$BATS_FILE_TMPDIR/tracer" "$victim"
  sleep 0.2
  run "$LPATCH" apply "$victim" "$BATS_FILE_TMPDIR/p1.lpatch"
  assert_failure 3
  assert_output --partial "cannot ptrace process $victim"
  run "$LPATCH" list "$victim"
  assert_output --partial "0 patches"
}

@test "apply --all patches every process that maps the module, list --all shows them" {
  local i pids=()
  for i in 1 2 3; do
    start nice -n 10 "$BATS_FILE_TMPDIR/loop" 1 "$BATS_TEST_TMPDIR/st$i"
    pids+=("$TPID")
  done
  for i in 1 2 3; do wait_until test -s "$BATS_TEST_TMPDIR/st$i"; done
  run "$LPATCH" apply --all --timeout 60000 "$BATS_FILE_TMPDIR/p1.lpatch"
  assert_success
  for i in 0 1 2; do
    assert_output --partial "to process ${pids[$i]} (loop)"
    grows "$BATS_TEST_TMPDIR/st$((i + 1))" new1
  done
  run "$LPATCH" list --all --json
  for i in 0 1 2; do
    [[ $(jq -r "select(.pid == ${pids[$i]}) | .patches[0].status" <<<"$output") == applied ]]
  done
}

@test "apply --module PATH finds processes by the build-id of PATH, not by its name" {
  cp "$BATS_FILE_TMPDIR/loop" "$BATS_TEST_TMPDIR/renamed"
  start nice -n 10 "$BATS_TEST_TMPDIR/renamed" 1 "$BATS_TEST_TMPDIR/st"
  wait_until test -s "$BATS_TEST_TMPDIR/st"
  run "$LPATCH" apply --module "$BATS_FILE_TMPDIR/loop" --timeout 60000 "$BATS_FILE_TMPDIR/p1.lpatch"
  assert_success
  assert_output --partial "to process $TPID (renamed)"
  grows "$BATS_TEST_TMPDIR/st" new1
}

@test "a process whose main thread has exited is patched through another thread" {
  local st=$BATS_TEST_TMPDIR/st
  start nice -n 10 "$BATS_FILE_TMPDIR/loop" 2 "$st" exit-main
  wait_until test -s "$st"
  wait_until grep -q '^State:.*Z' "/proc/$TPID/status"
  run "$LPATCH" apply --timeout 60000 "$TPID" "$BATS_FILE_TMPDIR/p1.lpatch"
  assert_success
  grows "$st" new1
  run "$LPATCH" revert --timeout 60000 "$TPID"
  assert_success
  grows "$st" old
  [[ $(field "$st" bad) == 0 ]]
}

@test "the module replaced on disk (package upgraded): the running copy is patched by its build-id" {
  local st=$BATS_TEST_TMPDIR/st bin=$BATS_TEST_TMPDIR/bin/loop
  mkdir -p "${bin%/*}"
  cp "$BATS_FILE_TMPDIR/loop" "$bin"
  start nice -n 10 "$bin" 2 "$st"
  wait_until test -s "$st"
  # the upgrade: another build at the same path, the old file deleted
  rm "$bin"
  cp "$BATS_FILE_TMPDIR/napper" "$bin"
  run "$LPATCH" apply --timeout 60000 "$TPID" "$BATS_FILE_TMPDIR/p1.lpatch"
  assert_success
  grows "$st" new1
  run "$LPATCH" list "$TPID"
  assert_output --partial "$bin (deleted)"
  run "$LPATCH" revert --timeout 60000 "$TPID"
  assert_success
  grows "$st" old
  [[ $(field "$st" bad) == 0 ]]
}

@test "a stopped process (SIGSTOP) is patched and stays stopped until continued" {
  local st=$BATS_TEST_TMPDIR/st
  start nice -n 10 "$BATS_FILE_TMPDIR/loop" 2 "$st"
  wait_until test -s "$st"
  kill -STOP "$TPID"
  wait_until all_stopped "$TPID"
  run "$LPATCH" apply --timeout 60000 "$TPID" "$BATS_FILE_TMPDIR/p1.lpatch"
  assert_success
  sleep 0.2
  all_stopped "$TPID" # job control state untouched: still stopped
  kill -CONT "$TPID"
  grows "$st" new1
  run "$LPATCH" revert --timeout 60000 "$TPID"
  assert_success
  grows "$st" old
  [[ $(field "$st" bad) == 0 ]]
}

all_stopped() { # PID: every thread in state T
  local t
  for t in /proc/"$1"/task/*/stat; do
    [[ $(awk '{print $3}' "$t") == T ]] || return 1
  done
}
