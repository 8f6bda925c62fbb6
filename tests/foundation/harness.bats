#!/usr/bin/env bats
# The test runner counts what it runs, and fails whenever a test failed or
# fewer tests ran than were planned: a killed bats, a failed setup_file, a
# crashed unit test, a missing bats.
load ../lib/common

# fake_tree: a copy of the runner in an empty project, in $d.
fake_tree() {
  d=$BATS_TEST_TMPDIR/fake
  mkdir -p "$d/tests/lib" "$d/tests/demo" "$d/build/san/tests"
  cp "$LP_TOP/tests/run.sh" "$d/tests/run.sh"
  cp "$LP_TOP/tests/lib/common.bash" "$d/tests/lib/"
}

last_line() { echo "${lines[${#lines[@]} - 1]}"; }

@test "tests/run.sh counts passes and failures and exits non-zero on failure" {
  fake_tree
  printf '@test "a" { true; }\n@test "b" { false; }\n@test "c" { true; }\n' >"$d/tests/demo/x.bats"
  run bash "$d/tests/run.sh" demo
  assert_failure
  assert_equal "$(last_line)" "2 passed, 1 failed (failed: demo)"
}

@test "tests/run.sh exits 0 and ends with the plain count when everything passed" {
  fake_tree
  printf '@test "a" { true; }\n@test "b" { true; }\n' >"$d/tests/demo/x.bats"
  run bash "$d/tests/run.sh" demo
  assert_success
  assert_equal "$(last_line)" "2 passed, 0 failed"
  assert_line --regexp '^#   demo +[0-9]+s  ok$'
}

@test "a bats killed half-way is a failure, though no test reported one" {
  fake_tree
  # Test b kills its whole bats (its process group) before reporting.
  printf '%s\n' '@test "a" { true; }' '@test "b" { kill -KILL 0; }' '@test "c" { true; }' \
    >"$d/tests/demo/x.bats"
  run bash "$d/tests/run.sh" demo
  assert_failure
  assert_line --regexp '^not ok - demo: ran 1 of 3 planned tests'
  assert_equal "$(last_line)" "1 passed, 1 failed (failed: demo)"
}

@test "a failing setup_file fails the suite with the tests it kept from running" {
  fake_tree
  printf '%s\n' 'setup_file() { return 1; }' '@test "a" { true; }' '@test "b" { true; }' \
    >"$d/tests/demo/x.bats"
  printf '@test "z" { true; }\n' >"$d/tests/demo/y.bats"
  run bash "$d/tests/run.sh" demo
  assert_failure
  refute_line --regexp '^ok .* a$'
  assert_output --partial "(failed: demo)"
}

@test "a missing bats fails every bats suite by name" {
  fake_tree
  printf '@test "a" { true; }\n' >"$d/tests/demo/x.bats"
  mkdir -p "$d/bin"
  ln -s "$(command -v bash)" "$d/bin/bash"
  for t in mktemp rm mkdir cat timeout dirname; do ln -s "$(command -v $t)" "$d/bin/$t"; done
  PATH=$d/bin run bash "$d/tests/run.sh" demo
  assert_failure
  assert_line "not ok - demo: bats is not installed (make deps)"
  assert_equal "$(last_line)" "0 passed, 1 failed (failed: demo)"
}

@test "a unit test that crashes after its plan is a failure" {
  fake_tree
  printf '#!/bin/sh\necho 1..3\necho "ok 1 - one"\nkill -SEGV $$\n' >"$d/build/san/tests/test_crash"
  printf '#!/bin/sh\necho 1..1\necho "ok 1 - fine"\n' >"$d/build/san/tests/test_fine"
  chmod +x "$d"/build/san/tests/test_*
  run bash "$d/tests/run.sh" unit
  assert_failure
  assert_line --regexp '^not ok - unit/test_crash: ran 1 of 3 planned tests \(exit status 139\)$'
  assert_equal "$(last_line)" "2 passed, 1 failed (failed: unit)"
}

@test "a unit test that exits non-zero after passing every test is a failure" {
  fake_tree
  printf '#!/bin/sh\necho 1..1\necho "ok 1 - one"\nexit 3\n' >"$d/build/san/tests/test_rc"
  chmod +x "$d/build/san/tests/test_rc"
  run bash "$d/tests/run.sh" unit
  assert_failure
  assert_line "not ok - unit/test_rc: exited with status 3 although no test failed"
}

@test "no unit test binaries at all is a failure, not zero tests passed" {
  fake_tree
  run bash "$d/tests/run.sh" unit
  assert_failure
  assert_output --partial "no unit test binaries"
}
