#!/usr/bin/env bats
# `make lint` is part of `make check`: each of its checks is one test here,
# so a lint failure shows in the count and names the check.
load ../lib/common

lint() { make -C "$LP_TOP" --no-print-directory -s "$1"; }

@test "lint: shell code is shellcheck-clean (make lint-sh)" {
  run lint lint-sh
  assert_success
}

@test "lint: C code is formatted by the repository's .clang-format (make lint-format)" {
  run lint lint-format
  assert_success
}

@test "lint: no #include climbs out of its component's directory (make lint-includes)" {
  run lint lint-includes
  assert_success
}

@test "lint: a misformatted file or a climbing include makes lint fail" {
  local d=$BATS_TEST_TMPDIR
  printf 'int  f( void ){return 1;}\n' >"$d/bad.c"
  run make -C "$LP_TOP" --no-print-directory -s lint-format LINT_C="$d/bad.c"
  assert_failure
  printf '#include "../runtime/lp_internal.h"\n' >"$d/climb.c"
  run make -C "$LP_TOP" --no-print-directory -s lint-includes LINT_C="$d/climb.c"
  assert_failure
  assert_output --partial "climbs out of its directory"
}

@test "lint: gcc -fanalyzer finds nothing in the components' C code (make lint-analyzer)" {
  run lint lint-analyzer
  assert_success
  assert_output --regexp 'lint-analyzer: [0-9]+ files clean'
}
