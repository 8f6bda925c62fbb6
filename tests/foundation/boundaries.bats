#!/usr/bin/env bats
# Component boundaries are enforced by the build: a component's sources see
# the public headers of the components it uses (PUBLIC_X, USES_X in each
# rules.mk) and nothing else of theirs.
load ../lib/common

components=(gcc-plugin runtime cli sign differ applier)

mk() { make -C "$LP_TOP" --no-print-directory -s "$@"; }

# probe COMPONENT HEADER: compile a file that includes HEADER with the
# flags of COMPONENT's sources (from a directory with no headers of its own).
probe() {
  local flags
  flags=$(mk "cppflags-$1")
  printf '#include "%s"\nint probe_unused;\n' "$2" >"$BATS_TEST_TMPDIR/probe.c"
  # shellcheck disable=SC2086 # the flags are words
  (cd "$LP_TOP" && gcc $flags -std=gnu11 -fsyntax-only "$BATS_TEST_TMPDIR/probe.c")
}

setup_file() {
  make -C "$LP_TOP" --no-print-directory -s public-headers
}

@test "every component's public headers are visible to the components that use it" {
  local c u h n=0
  for c in "${components[@]}"; do
    for u in $(mk "print-USES_$c"); do
      for h in $(mk "print-PUBLIC_$u"); do
        run probe "$c" "$(basename "$h")"
        assert_success
        n=$((n + 1))
      done
    done
  done
  ((n >= 8))
}

@test "including another component's internal header fails to build" {
  local c d h public n=0
  for c in "${components[@]}"; do
    for d in "${components[@]}"; do
      [[ $d == "$c" ]] && continue
      public=" $(mk "print-PUBLIC_$d") "
      for h in "$LP_TOP/$d"/*.h; do
        [[ $public == *" $d/${h##*/} "* ]] && continue
        run probe "$c" "${h##*/}"
        assert_failure
        assert_output --partial "${h##*/}: No such file or directory"
        n=$((n + 1))
      done
    done
  done
  # differ and applier have internal headers the others must not reach
  ((n >= 20))
}

@test "a component that does not use another cannot include even its public headers" {
  run probe runtime lpmeta_read.h
  assert_failure
  run probe runtime lpmeta.h
  assert_failure
}
