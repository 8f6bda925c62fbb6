#!/usr/bin/env bats
# Patch hooks (runtime/livepatch-hooks.h): a struct gains a member that the
# patch keeps in a shadow variable; callbacks that veto, crash or hang leave
# the target unpatched and running; callbacks never run on a thread that
# holds the loader's lock.
load helpers

HOOKS_SRC=$LP_TOP/tests/applier/hooks

build_tree() { # VERSION
  local d=$BATS_FILE_TMPDIR/$1
  mkdir -p "$d"
  cp "$HOOKS_SRC/$1/prog.c" "$d/"
  (cd "$d" && gcc -fplugin="$LP_PLUGIN" -g -O2 -I"$LP_TOP/build/include/runtime" -c prog.c -o prog.o &&
    gcc -pie -pthread -o prog prog.o)
}

setup_file() {
  build_tree old
  build_tree new
  local h
  for h in ok yes veto crash hang postcrash; do
    "$LPDIFF" --old "$BATS_FILE_TMPDIR/old" --new "$BATS_FILE_TMPDIR/new" --module prog \
      --hooks "$HOOKS_SRC/$h.c" -o "$BATS_FILE_TMPDIR/$h.lpatch" >"$BATS_FILE_TMPDIR/$h.out" 2>&1 ||
      { cat "$BATS_FILE_TMPDIR/$h.out" >&2; return 1; }
  done
}

teardown() { stop_all; }

# run_target [dlwait]: start OLD; status file in $STATUS.
run_target() {
  STATUS=$BATS_TEST_TMPDIR/status
  start "$BATS_FILE_TMPDIR/old/prog" "$STATUS" "$@"
  wait_until grep -q 'round=[1-9]' "$STATUS"
}

# The target still serves rounds, with the OLD code (no bonus).
healthy_and_old() {
  kill -0 "$TPID"
  local r1 r2
  r1=$(field "$STATUS" round)
  wait_until bash -c "[ \$(grep -o 'round=[0-9]*' '$STATUS' | cut -d= -f2) -gt $((r1 + 5)) ]"
  r2=$(field "$STATUS" v0)
  [ "$r2" -lt 1000 ] || { echo "v0=$r2: patched code ran" >&2; return 1; }
  run "$LPATCH" list "$TPID"
  assert_output --partial ": 0 patches"
}

bonus_seen() { [ "$(field "$STATUS" "$1")" -gt 1000 ]; }

@test "lpdiff accepts the added member the hook file declares, and says so" {
  run cat "$BATS_FILE_TMPDIR/ok.out"
  assert_output --partial "struct conn: member 'bonus' added at offset 8 is handled by shadow variables"
  # without the hook file the same change is refused
  run "$LPDIFF" --old "$BATS_FILE_TMPDIR/old" --new "$BATS_FILE_TMPDIR/new" --module prog -n
  assert_failure 3
  assert_output --partial "LAYOUT_TYPE"
}

@test "lpatch info names the patch's callbacks" {
  run "$LPATCH" info "$BATS_FILE_TMPDIR/veto.lpatch"
  assert_success
  assert_output --partial "callback LP_PRE_APPLY (${HOOKS_SRC}/veto.c:"
  assert_output --partial "callback LP_POST_REVERT"
}

@test "shadow variables: objects from before and after the apply get the new member; revert frees every shadow" {
  run_target
  run "$LPATCH" apply "$TPID" "$BATS_FILE_TMPDIR/ok.lpatch"
  assert_success
  wait_until bonus_seen v0 # a connection from before the apply
  local r
  r=$(field "$STATUS" round)
  # connection 3 is replaced every 50 rounds: wait for two new ones
  wait_until bash -c "[ \$(grep -o 'round=[0-9]*' '$STATUS' | cut -d= -f2) -gt $((r + 110)) ]"
  wait_until bonus_seen v3 # a connection created after the apply
  run "$LPATCH" list "$TPID"
  assert_output --partial "1 patch, 4 shadow variables" # freed with their objects: never more
  run "$LPATCH" revert "$TPID"
  assert_success
  run "$LPATCH" list "$TPID"
  assert_output --partial "0 patches, 0 shadow variables"
  healthy_and_old
}

@test "a vetoing pre-apply callback: exit 1 with its message, target unpatched and running" {
  run_target
  run "$LPATCH" apply "$TPID" "$BATS_FILE_TMPDIR/veto.lpatch"
  assert_failure 1
  assert_output --partial "the pre-apply callback vetoed: not now: the test says no"
  healthy_and_old
}

@test "a crashing pre-apply callback is reported; target unpatched and running" {
  run_target
  run "$LPATCH" apply "$TPID" "$BATS_FILE_TMPDIR/crash.lpatch"
  assert_failure 1
  assert_output --partial "pre-apply callback crashed: Segmentation fault"
  healthy_and_old
}

@test "a hanging pre-apply callback is stopped at --timeout; target unpatched and running" {
  run_target
  run "$LPATCH" apply --timeout 300 "$TPID" "$BATS_FILE_TMPDIR/hang.lpatch"
  assert_failure 1
  assert_output --partial "pre-apply callback did not return within 300 ms"
  healthy_and_old
}

@test "a crashing post-apply callback: the patch is reverted again" {
  run_target
  run "$LPATCH" apply "$TPID" "$BATS_FILE_TMPDIR/postcrash.lpatch"
  assert_failure 1
  assert_output --partial "post-apply callback crashed"
  assert_output --partial "the patch was reverted"
  healthy_and_old
}

@test "callbacks never run on a thread inside the loader's lock (dl_iterate_phdr)" {
  run_target dlwait
  run "$LPATCH" apply --retries 3 --backoff 10 "$TPID" "$BATS_FILE_TMPDIR/yes.lpatch"
  assert_failure 1
  assert_output --partial "no thread to run the pre-apply callback on after 3 tries"
  assert_output --partial "dl_iterate_phdr"
  healthy_and_old
  # a patch with no callback to run applies to the same process
  run "$LPATCH" apply "$TPID" "$BATS_FILE_TMPDIR/ok.lpatch"
  assert_success
  wait_until bonus_seen v0
}
