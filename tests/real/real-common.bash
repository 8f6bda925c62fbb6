# What the real-program suites (lua, expat, cjson) share; sourced by
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

# real_wait_ready RUN: the workload started in the background (pid in
# RUN/pid, stdout RUN/workload.out) prints "ready" within 10 s; otherwise its
# stderr is shown and this fails.
real_wait_ready() {
  local run=$1 i
  for ((i = 0; i < 100; i++)); do
    grep -q '^ready$' "$run/workload.out" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "workload did not start; stderr:" >&2
  cat "$run/workload.err" >&2
  return 1
}

# real_stop RUN: end the workload whose pid RUN/pid holds (waits up to 5 s).
real_stop() {
  local run=$1 pid i
  [[ -f $run/pid ]] || return 0
  pid=$(cat "$run/pid")
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  rm -f "$run/pid"
}

# real_ask_fifo RUN REQUEST: send one request line down RUN/req to the
# workload (pid in RUN/pid) and print the answer line it writes to RUN/resp.
real_ask_fifo() {
  local run=$1 pid answer
  pid=$(cat "$run/pid")
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "workload (pid $pid) is gone; stderr:" >&2
    cat "$run/workload.err" >&2
    return 1
  fi
  # Open the answer FIFO for reading first: the workload opens it for writing
  # after reading the request.
  if ! answer=$(timeout 30 bash -c 'echo "$1" >"$2" && head -n1 <"$3"' _ "$2" "$run/req" "$run/resp"); then
    echo "workload (pid $pid) did not answer '$2' within 30 s; stderr:" >&2
    cat "$run/workload.err" >&2
    return 1
  fi
  echo "$answer"
}
