#!/usr/bin/env bash
# tests/run.sh [--quick] [SUITE...] - run the C unit tests and the bats suites,
# print their TAP, a table of each suite's time and result, and end with one
# line "N passed, N failed[, N skipped]" (on failure followed by the suites
# that failed).
#
# SUITE is "unit", a directory under tests/ (plugin, differ, applier, e2e,
# foundation, real) or a path to a directory of .bats files.  With no SUITE,
# every suite runs; --quick leaves out "real" (network downloads, builds of
# Debian packages).
#
# The runner trusts no count it did not see: a suite fails when its process
# exits non-zero, when it printed no TAP plan, or when it ran fewer tests than
# it planned (a killed bats, a failed setup_file, a crashed unit test, a
# missing bats).  Each of those adds a "not ok" line naming the suite.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
top=$PWD
export LP_TOP=$top
export LP_BUILD=$top/build
# Tools under test: the sanitizer builds.  Leak checking stays in the unit
# tests; a CLI that exits on an error path is not a leak worth failing on.
export LPDIFF=${LPDIFF:-$top/build/san/bin/lpdiff}
export LPATCH=${LPATCH:-$top/build/san/bin/lpatch}
export LP_PLUGIN=${LP_PLUGIN:-$top/build/livepatch.so}
# Downloaded sources and their builds: outside build/, so make clean keeps them.
export LP_CACHE=${LP_CACHE:-$top/.cache}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export BATS_LIB_PATH=${BATS_LIB_PATH:-/usr/lib/bats}
# A suite that hangs is stopped and counted as failed (seconds).
suite_timeout=${LP_SUITE_TIMEOUT:-2400}
mkdir -p tests/out
# Private scratch: several runs (a developer's and CI's) may share the tree.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/lp-tests.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

quick=0
if [[ ${1:-} == --quick ]]; then
  quick=1
  shift
fi
suites=("$@")
if ((${#suites[@]} == 0)); then
  suites=(unit)
  for d in tests/*/; do
    d=${d%/} d=${d#tests/}
    case $d in unit | lib | out) continue ;; esac
    ((quick)) && [[ $d == real ]] && continue
    compgen -G "tests/$d/*.bats" >/dev/null && suites+=("$d")
  done
fi

passed=0 failed=0 skipped=0
failed_suites=() summary=()

# tally NAME LOG RC: count the results in LOG's TAP, and add a failure when
# the process behind it did not finish what it planned.
tally() {
  local name=$1 log=$2 rc=$3 line plan=-1 ran=0 p=0 f=0 s=0
  while IFS= read -r line; do
    case $line in
      "not ok "*) f=$((f + 1)) ran=$((ran + 1)) ;;
      "ok "*"# skip"* | "ok "*"# SKIP"*) s=$((s + 1)) ran=$((ran + 1)) ;;
      "ok "*) p=$((p + 1)) ran=$((ran + 1)) ;;
      1..*) [[ $line =~ ^1\.\.([0-9]+)$ ]] && ((plan < 0)) && plan=${BASH_REMATCH[1]} ;;
    esac
  done <"$log"
  local why=
  if ((plan < 0)); then
    why="printed no test plan (exit status $rc)"
  elif ((ran < plan)); then
    why="ran $ran of $plan planned tests (exit status $rc)"
  elif ((ran > plan)); then
    why="ran $ran tests but planned $plan"
  elif ((rc != 0 && f == 0)); then
    why="exited with status $rc although no test failed"
  fi
  if [[ -n $why ]]; then
    echo "not ok - $name: $why"
    f=$((f + 1))
  fi
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  suite_failed=$f
}

# run_suite NAME CMD...: run CMD under the timeout, its TAP shown as it
# comes and kept in a log, then tallied.
run_suite() {
  local name=$1 rc
  shift
  timeout --kill-after=10 "$suite_timeout" "$@" 2>&1 | tee "$scratch/suite.log"
  rc=${PIPESTATUS[0]}
  ((rc == 124 || rc == 137)) && echo "# $name: stopped after ${suite_timeout}s"
  tally "$name" "$scratch/suite.log" "$rc"
}

for s in "${suites[@]}"; do
  t0=$SECONDS
  sf=0
  if [[ $s == unit ]]; then
    echo "# suite: unit"
    bins=(build/san/tests/test_*)
    if [[ ! -x ${bins[0]} ]]; then
      printf '1..1\nnot ok 1 - no unit test binaries in build/san/tests (make san)\n' |
        tee "$scratch/suite.log"
      tally unit "$scratch/suite.log" 1
      sf=$suite_failed
    fi
    for t in "${bins[@]}"; do
      [[ -x $t ]] || continue
      echo "# unit: ${t##*/}"
      run_suite "unit/${t##*/}" "$t"
      sf=$((sf + suite_failed))
    done
  else
    dir=tests/$s
    [[ $s == */* ]] && dir=$s
    echo "# suite: $s"
    if ! command -v bats >/dev/null; then
      echo "not ok - $s: bats is not installed (make deps)"
      failed=$((failed + 1)) sf=1
    elif ! compgen -G "$dir/*.bats" >/dev/null; then
      echo "not ok - $s: no .bats files in $dir"
      failed=$((failed + 1)) sf=1
    else
      run_suite "$s" bats --tap "$dir"
      sf=$suite_failed
    fi
  fi
  ((sf)) && failed_suites+=("$s")
  summary+=("$(printf '#   %-12s %5ds  %s' "$s" $((SECONDS - t0)) "$( ((sf)) && echo FAILED || echo ok)")")
done

echo "# time per suite:"
printf '%s\n' "${summary[@]}"
line="$passed passed, $failed failed"
((skipped)) && line+=", $skipped skipped"
((${#failed_suites[@]})) && line+=" (failed: ${failed_suites[*]})"
echo "$line"
((failed == 0))
