#!/usr/bin/env bash
# tests/run.sh [SUITE...] - run the C unit tests and the bats suites, print
# their TAP, and end with exactly one line "N passed, N failed[, N skipped]".
# SUITE is "unit" or a directory under tests/ (plugin, differ, applier, e2e, real).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
export LP_TOP=$top
export LP_BUILD=$top/build
# Tools under test: the sanitizer builds.  Leak checking stays in the unit
# tests; a CLI that exits on an error path is not a leak worth failing on.
export LPDIFF=${LPDIFF:-$top/build/san/bin/lpdiff}
export LPATCH=${LPATCH:-$top/build/san/bin/lpatch}
export LP_PLUGIN=${LP_PLUGIN:-$top/build/livepatch.so}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export BATS_LIB_PATH=${BATS_LIB_PATH:-/usr/lib/bats}
mkdir -p tests/out
# Private scratch: several runs (a developer's and CI's) may share the tree.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/lp-tests.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
counts=$scratch/counts

suites=("$@")
if ((${#suites[@]} == 0)); then
  suites=(unit)
  for d in tests/*/; do
    d=${d%/}; d=${d#tests/}
    case $d in unit|lib|out) continue ;; esac
    compgen -G "tests/$d/*.bats" >/dev/null && suites+=("$d")
  done
fi

passed=0 failed=0 skipped=0
count() { # reads TAP on stdin, echoes it, updates counters through a file
  local line
  while IFS= read -r line; do
    printf '%s\n' "$line"
    case $line in
      "not ok "*) echo F >>$counts ;;
      "ok "*"# skip"*|"ok "*"# SKIP"*) echo S >>$counts ;;
      "ok "*) echo P >>$counts ;;
    esac
  done
}

: >$counts
for s in "${suites[@]}"; do
  if [[ $s == unit ]]; then
    for t in build/san/tests/test_*; do
      [[ -x $t ]] || continue
      echo "# unit: ${t##*/}"
      "$t" >$scratch/unit.log 2>&1
      rc=$?
      count <$scratch/unit.log
      # A crash (sanitizer report, signal) before the plan line is a failure.
      if ! grep -qE '^1\.\.[0-9]+$' $scratch/unit.log; then
        echo "not ok - ${t##*/} died with status $rc before finishing" | count
      fi
    done
  else
    echo "# suite: $s"
    bats --tap "tests/$s" 2>&1 | count
  fi
done

passed=$(grep -c P $counts)
failed=$(grep -c F $counts)
skipped=$(grep -c S $counts)
if ((skipped)); then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
((failed == 0))
