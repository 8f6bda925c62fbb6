#!/usr/bin/env bats
# The test runner counts what it runs and fails when a test fails.
load ../lib/common

@test "tests/run.sh counts passes and failures and exits non-zero on failure" {
  d=$BATS_TEST_TMPDIR/fake
  mkdir -p "$d/tests/lib" "$d/tests/demo"
  cp "$LP_TOP/tests/run.sh" "$d/tests/run.sh"
  cp "$LP_TOP/tests/lib/common.bash" "$d/tests/lib/"
  printf '@test "a" { true; }\n@test "b" { false; }\n@test "c" { true; }\n' >"$d/tests/demo/x.bats"
  run bash "$d/tests/run.sh" demo
  assert_failure
  assert_line --index $((${#lines[@]} - 1)) "2 passed, 1 failed"
}
