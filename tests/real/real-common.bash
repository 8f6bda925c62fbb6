# What the real-program suites (lua.bats, expat.bats) share; sourced by
# their helpers.

# real_lpatch RESULTS ARGS...: run lpatch (2-minute limit); its exit code and
# wall time go to the RESULTS file for the report.
real_lpatch() {
  local results=$1 t0 t1 rc=0
  shift
  t0=$(date +%s%N)
  timeout 120 "$LPATCH" "$@" || rc=$?
  t1=$(date +%s%N)
  echo "lpatch $*: exit $rc, wall $(((t1 - t0) / 1000)) us" >>"$results"
  return $rc
}

# real_healthy RUN OK FAILURES ITER UNIT ANSWER: a workload's status answer
# says it is fine (OK true, no failure) and made progress since the last
# check (ITER above what RUN/iterations holds, which is then updated).
real_healthy() {
  local run=$1 ok=$2 failures=$3 iter=$4 unit=$5 answer=$6 prev
  prev=$(cat "$run/iterations")
  if [[ $ok != true || $failures != 0 ]]; then
    echo "workload unhealthy: $answer" >&2
    return 1
  fi
  if ((iter <= prev)); then
    echo "workload made no progress: $prev -> $iter $unit" >&2
    return 1
  fi
  echo "$iter" >"$run/iterations"
}
