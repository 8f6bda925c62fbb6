#!/usr/bin/env bats
# Patches made by lpdiff from real build trees: v1 -> v2 -> v3 applied on
# top of each other in a running v1 process, then reverted.
load helpers

# build_tree DIR COMPUTE_K OTHER_K: loop.c with compute(x)=x+K, other(x)=x+K2
build_tree() {
  local d=$BATS_FILE_TMPDIR/$1
  mkdir -p "$d"
  cp "$APPLIER_SRC/targets/loop.c" "$d/"
  sed -e "s/return x + 1;/return x + $2;/" -e "s/return x + 7;/return x + $3;/" \
    "$APPLIER_SRC/targets/compute.h" >"$d/compute.h"
  (cd "$d" && gcc -fplugin="$LP_PLUGIN" -g -O2 -pthread -c loop.c -o loop.o &&
    gcc -pthread -o loop loop.o)
}

# statics_tree DIR SED-SCRIPT: statics.c edited by SED-SCRIPT
statics_tree() {
  local d=$BATS_FILE_TMPDIR/$1
  mkdir -p "$d"
  sed -e "$2" "$APPLIER_SRC/targets/statics.c" >"$d/statics.c"
  (cd "$d" && gcc -fplugin="$LP_PLUGIN" -g -O2 -pthread -c statics.c -o statics.o &&
    gcc -pthread -o statics statics.o)
}

setup_file() {
  statics_tree s1 ''
  # s2 adds a function with a static local: GCC then numbers bump's
  # "calls" differently (calls.2 in s1, calls.3 in s2)
  local spare='s/^int main(int argc, char \*\*argv)$/int spare(void) { static int extra; return ++extra; }\n&/'
  statics_tree s2 "s/return ++total;/return ++total + 100000;/; $spare"
  statics_tree s3 "s/return ++total;/return ++total + 100000;/; s/return ++calls;/return ++calls + 100000;/; $spare"
  build_tree v1 1 7
  build_tree v2 1001 7
  build_tree v3 2001 107
  local d=$BATS_FILE_TMPDIR
  "$LPDIFF" --old "$d/v1" --new "$d/v2" --module loop -o "$d/v1-v2.lpatch" >/dev/null
  "$LPDIFF" --old "$d/v2" --new "$d/v3" --module loop -o "$d/v2-v3.lpatch" >/dev/null
  "$LPDIFF" --old "$d/s1" --new "$d/s2" --module statics -o "$d/s1-s2.lpatch" >/dev/null
  "$LPDIFF" --old "$d/s2" --new "$d/s3" --module statics -o "$d/s2-s3.lpatch" >/dev/null
}

teardown() { stop_all; }

@test "lpdiff patches apply in order on a running v1 and revert back to v1" {
  local d=$BATS_FILE_TMPDIR st=$BATS_TEST_TMPDIR/st
  start nice -n 10 "$d/v1/loop" 4 "$st"
  wait_until test -s "$st"
  run "$LPATCH" check "$TPID" "$d/v2-v3.lpatch"
  assert_failure 1
  run "$LPATCH" apply --timeout 60000 "$TPID" "$d/v1-v2.lpatch"
  assert_success
  grows "$st" new1
  run "$LPATCH" apply --timeout 60000 "$TPID" "$d/v2-v3.lpatch"
  assert_success
  grows "$st" new2
  run "$LPATCH" list --json "$TPID"
  [[ $(jq '.patches | length' <<<"$output") == 2 ]]
  run "$LPATCH" revert --timeout 60000 "$TPID"
  assert_success
  grows "$st" new1
  run "$LPATCH" revert --timeout 60000 "$TPID"
  assert_success
  grows "$st" old
  [[ $(field "$st" bad) == 0 ]]
}

@test "an lpdiff patch is refused by a process running another build" {
  local d=$BATS_FILE_TMPDIR
  start nice -n 10 "$d/v2/loop" 1 "$BATS_TEST_TMPDIR/st"
  run "$LPATCH" apply "$TPID" "$d/v1-v2.lpatch"
  assert_failure 1
  assert_output --partial "maps no module with build-id"
}

@test "a stacked patch finds a function-scope static by its stable name, though GCC numbers it differently" {
  local d=$BATS_FILE_TMPDIR st=$BATS_TEST_TMPDIR/st
  # the premise: the numbering differs between the running build and s2
  [[ $(nm "$d/s1/statics" | grep -o 'calls\.[0-9]*') != $(nm "$d/s2/statics" | grep -o 'calls\.[0-9]*') ]]
  start "$d/s1/statics" "$st"
  wait_until test -s "$st"
  run "$LPATCH" apply --timeout 60000 "$TPID" "$d/s1-s2.lpatch"
  assert_success
  grows "$st" new
  run "$LPATCH" apply --timeout 60000 "$TPID" "$d/s2-s3.lpatch"
  assert_success
  run "$LPATCH" list --json "$TPID"
  [[ $(jq '.patches | length' <<<"$output") == 2 ]]
  # bump() now returns calls + 100000 and counts on from the running
  # value: tally() sees every result as the previous + 1
  grows "$st" new
  run "$LPATCH" revert --timeout 60000 "$TPID"
  assert_success
  run "$LPATCH" revert --timeout 60000 "$TPID"
  assert_success
  grows "$st" ok
  [[ $(field "$st" bad) == 0 ]]
}

@test "a stacked patch naming a static an earlier patch added is refused, the process untouched" {
  local d=$BATS_FILE_TMPDIR st=$BATS_TEST_TMPDIR/st before
  # s6 gives bump() a new static local (the s1 -> s6 patch carries it);
  # s6 -> s7 changes bump() again and names it, but the running build is s1
  statics_tree s6 's/return ++calls;/static int extra; return ++calls + 100000 * (++extra > 0);/'
  statics_tree s7 's/return ++calls;/static int extra; return ++calls + 100000 * (++extra > -1);/'
  "$LPDIFF" --old "$d/s1" --new "$d/s6" --module statics -o "$d/s1-s6.lpatch" >/dev/null
  "$LPDIFF" --old "$d/s6" --new "$d/s7" --module statics -o "$d/s6-s7.lpatch" >/dev/null
  start "$d/s1/statics" "$st"
  wait_until test -s "$st"
  run "$LPATCH" apply --timeout 60000 "$TPID" "$d/s1-s6.lpatch"
  assert_success
  grows "$st" new
  before=$(maps_of "$TPID")
  run "$LPATCH" apply --timeout 60000 "$TPID" "$d/s6-s7.lpatch"
  assert_failure 1
  assert_output --partial "function-scope static bump::extra, which the running build does not have"
  [[ $(maps_of "$TPID") == "$before" ]]
  run "$LPATCH" list --json "$TPID"
  [[ $(jq '.patches | length' <<<"$output") == 1 ]]
  grows "$st" new
  [[ $(field "$st" bad) == 0 ]]
}
