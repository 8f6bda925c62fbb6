#!/usr/bin/env bash
# bench/applier.bench.sh - lpatch pause and command time, and the cost of a
# patched call.  Prints "| benchmark | measured | target |" rows.
#
# Pause = first thread asked to stop .. last thread resumed (lpatch --stats),
# p50/p99/max of RUNS apply+revert cycles on targets whose threads call the
# patched functions in a tight loop.  Whole command = wall time of
# `lpatch apply` as a shell sees it (process start to exit).  Each figure is
# printed beside its floor, measured in the same run on the same target
# (bench/ptrace_floor.c): the bare ptrace stop and resume of the same
# threads, and process start + seize + detach for the whole command.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
out=$top/bench/out/applier
mkdir -p "$out"
LPATCH=${LPATCH_BENCH:-$top/build/bin/lpatch}
PLUGIN=$top/build/livepatch.so
RUNS=${RUNS:-25}
lib=$top/build/lib/liblivepatch.a

gcc -std=gnu11 -O2 -Wall -Wextra -o "$out/ptrace_floor" "$top/bench/ptrace_floor.c"
gcc -D_GNU_SOURCE -I"$top/build/include/runtime" -std=gnu11 -O2 -o "$out/mkpatch" \
  "$top/tests/applier/mkpatch.c" "$lib" -lelf -lxxhash

# Target with NF patchable functions f0..f(NF-1), f_i(x) = x + 1, called
# round-robin by T threads.
gen_target() { # NF
  local nf=$1 f=$out/many$1.c i
  {
    echo '#include <pthread.h>'
    echo '#include <stdlib.h>'
    echo '#include <unistd.h>'
    for ((i = 0; i < nf; i++)); do
      echo "__attribute__((noinline)) int f$i(int x) { return x + 1; }"
    done
    echo "static int (*const fs[])(int) = {"
    for ((i = 0; i < nf; i++)); do echo "  f$i,"; done
    echo "};"
    echo 'static volatile unsigned long sink;'
    echo 'static void *worker(void *a) { (void)a; for (unsigned i = 0;; i++) sink += fs[i % (sizeof fs / sizeof fs[0])](i); return 0; }'
    echo 'int main(int argc, char **argv) { int n = atoi(argv[1]); pthread_t t;'
    echo '  for (int i = 0; i < n; i++) pthread_create(&t, 0, worker, 0);'
    echo '  for (;;) pause(); }'
  } >"$f"
  gcc -fplugin="$PLUGIN" -O2 -pthread -o "$out/many$nf" "$f"
  local specs=()
  for ((i = 0; i < nf; i++)); do specs+=("f$i=8d 47 01 c3"); done # same semantics
  "$out/mkpatch" "$out/many$nf.lpatch" "$out/many$nf" "${specs[@]}"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# "p50 p99 max" of the numbers on stdin (nearest rank).
pct() { sort -n | awk '{a[NR]=$1} END {p=int(NR*0.99+0.999); if (p<1) p=1; print a[int((NR+1)/2)], a[p], a[NR]}'; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

bench_pause() { # THREADS NF
  local t=$1 nf=$2 pid i o pauses=() walls=()
  "$out/many$nf" "$t" &
  pid=$!
  pids+=("$pid")
  while [[ $(readlink "/proc/$pid/exe") != "$out/many$nf" ]]; do sleep 0.01; done
  sleep 0.3
  for ((i = 0; i < RUNS; i++)); do
    local t0 t1
    t0=$(date +%s%N)
    o=$("$LPATCH" apply --stats "$pid" "$out/many$nf.lpatch")
    t1=$(date +%s%N)
    pauses+=("$(sed -n 's/.*pause \([0-9.]*\) us.*/\1/p' <<<"$o")")
    walls+=("$(((t1 - t0) / 1000))")
    "$LPATCH" revert "$pid" >/dev/null
  done
  # The floor on the same threads, in the same run: seize and interrupt
  # all, wait, detach all; and the whole-command floor: start a process
  # that seizes and detaches them once.
  local floors bases=()
  floors=$("$out/ptrace_floor" "$pid" "$RUNS")
  for ((i = 0; i < RUNS; i++)); do
    t0=$(date +%s%N)
    "$out/ptrace_floor" "$pid" 0
    t1=$(date +%s%N)
    bases+=("$(((t1 - t0) / 1000))")
  done
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  PAUSE=$(printf '%s\n' "${pauses[@]}" | median)
  PAUSE_PCT=$(printf '%s\n' "${pauses[@]}" | pct)
  FLOOR=$(median <<<"$floors")
  WALL=$(printf '%s\n' "${walls[@]}" | median)
  WALL_BASE=$(printf '%s\n' "${bases[@]}" | median)
  echo "threads=$t functions=$nf floors_us=$(tr '\n' ' ' <<<"$floors") bases_us=${bases[*]}" >&2
  echo "threads=$t functions=$nf pauses=${pauses[*]} walls_us=${walls[*]}" >&2
}

gen_target 1
gen_target 100
for nf in 1 100; do
  for t in 1 8 64; do
    bench_pause "$t" "$nf"
    target=""
    case $t in 1) target="< 300 us" ;; 64) target="< 1 ms" ;; esac
    read -r p50 p99 pmax <<<"$PAUSE_PCT"
    printf '| lpatch pause, %d busy thread(s), %d function(s) (%d runs) | p50 %.0f us, p99 %.0f, max %.0f; floor (bare stop + resume, same run) %.0f us: **%.2fx** | %s%s<= 1.3x floor |\n' \
      "$t" "$nf" "$RUNS" "$p50" "$p99" "$pmax" "$FLOOR" "$(echo "$PAUSE / $FLOOR" | bc -l)" \
      "$target" "${target:+; }"
    printf '| lpatch apply whole command, %d thread(s), %d function(s) (median) | %.2f ms; floor (process start + seize + detach) %.2f ms: **%.1fx** | %s<= 3x floor |\n' \
      "$t" "$nf" "$(echo "$WALL / 1000" | bc -l)" "$(echo "$WALL_BASE / 1000" | bc -l)" \
      "$(echo "$WALL / $WALL_BASE" | bc -l)" "$( ((nf == 1 && t == 1)) && echo '< 5 ms (libpulp 9-13 ms); ')"
  done
done

# Call overhead: ns per call of compute() before and after patching with
# identical code (the patched path adds the entry jmp and the pad jmp).
cat >"$out/calls.c" <<'C'
#include <stdio.h>
#include <time.h>
#include <unistd.h>
__attribute__((noinline)) int compute(int x) { return x + 1; }
static double ns_per_call(void) {
  struct timespec a, b; volatile int s = 0; const long n = 200000000;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) s += compute((int)i);
  clock_gettime(CLOCK_MONOTONIC, &b);
  return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n;
}
int main(int argc, char **argv) {
  (void)argc;
  double before = ns_per_call();
  printf("before %.3f\n", before); fflush(stdout);
  while (access(argv[1], F_OK) != 0) usleep(1000);
  double after = ns_per_call();
  printf("after %.3f\n", after); fflush(stdout);
  return 0;
}
C
gcc -fplugin="$PLUGIN" -O2 -o "$out/calls" "$out/calls.c"
"$out/mkpatch" "$out/calls.lpatch" "$out/calls" "compute=8d 47 01 c3"
rm -f "$out/calls.go" "$out/calls.txt"
"$out/calls" "$out/calls.go" >"$out/calls.txt" &
cpid=$!
pids+=("$cpid")
while ! grep -qs before "$out/calls.txt"; do sleep 0.05; done
"$LPATCH" apply "$cpid" "$out/calls.lpatch" >/dev/null
touch "$out/calls.go"
wait "$cpid"
before=$(awk '/before/ {print $2}' "$out/calls.txt")
after=$(awk '/after/ {print $2}' "$out/calls.txt")
printf '| call overhead of a patched function (2 jumps) | %.2f ns (%.2f -> %.2f ns/call) | libpulp +0.9 ns |\n' \
  "$(echo "$after - $before" | bc -l)" "$before" "$after"
