#!/usr/bin/env bash
# bench/lpatchd.bench.sh - the window between a new process's exec and its
# patch by a running lpatchd (docs/lpatchd.md, "The window"), with and
# without --hold, for a patched program and a patched library: RUNS new
# processes each (default 10) of a target whose thread calls compute() in a
# loop and counts the calls that ran the old code.  Prints, per case, the
# median and the largest time from the exec to "patched" (lpatchd's log:
# the kernel's exec stamp to the end of the apply) and of the number of
# old-code calls the process made before it was patched, and how many of
# the RUNS --hold held.
#
#   RUNS=N LPATCH_BENCH=path LPATCHD_BENCH=path bash bench/lpatchd.bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
out=$top/bench/out/lpatchd
rm -rf "$out"
mkdir -p "$out"
LPATCH=${LPATCH_BENCH:-$top/build/bin/lpatch}
LPATCHD=${LPATCHD_BENCH:-$top/build/bin/lpatchd}
RUNS=${RUNS:-10}
src=$top/tests/applier
cc() { gcc -fplugin="$top/build/livepatch.so" -O2 -pthread -I"$src/targets" "$@"; }
# a build-id of this run's own: lpatchd sees every process on the host
printf 'const char bench_tag[] __attribute__((used)) = "%s %s";\n' "$out" "$$" >"$out/tag.c"
gcc -D_GNU_SOURCE -I"$top/build/include/runtime" -std=gnu11 -O2 -o "$out/mkpatch" \
  "$src/mkpatch.c" "$top/build/lib/liblivepatch.a" -lelf -lxxhash
cc -o "$out/loop" "$src/targets/loop.c" "$out/tag.c"
cc -fPIC -shared -o "$out/libcompute.so" "$src/targets/libcompute.c" "$out/tag.c"
cc -DEXTERN_COMPUTE -o "$out/loop-shared" "$src/targets/loop.c" -L"$out" -lcompute \
  -Wl,-rpath,"$out"
"$out/mkpatch" "$out/a.lpatch" "$out/loop" "compute=8d 87 e9 03 00 00 c3"
"$out/mkpatch" "$out/lib.lpatch" "$out/libcompute.so" "compute=8d 87 e9 03 00 00 c3"
export LIVEPATCH_REGISTRY=$out/reg LIVEPATCH_KEYS_DIR=$out/nokeys
"$LPATCH" install "$out/a.lpatch" "$out/lib.lpatch" >/dev/null

dpid=
pids=()
cleanup() {
  [[ -n $dpid ]] && kill "$dpid" 2>/dev/null
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  true
}
trap cleanup EXIT
field() { grep -o "\b$2=[0-9]*" "$1" | cut -d= -f2; }
median_max() { sort -n | awk '{ v[NR] = $1 } END { printf "%s / %s", v[int((NR + 1) / 2)], v[NR] }'; }

for hold in "" --hold; do
  log=$out/lpatchd${hold}.log
  "$LPATCHD" --foreground $hold >"$log" 2>&1 &
  dpid=$!
  until grep -q 'pass (start)' "$log"; do sleep 0.01; done
  for prog in loop loop-shared; do
    : >"$out/win" && : >"$out/old" && : >"$out/heldold"
    held=0
    for ((i = 0; i < RUNS; i++)); do
      st=$out/$prog$hold.$i.st
      "$out/$prog" 1 "$st" >/dev/null 2>&1 &
      p=$!
      pids+=("$p")
      until grep -q "^lpatchd: process $p: patched" "$log"; do sleep 0.01; done
      sleep 0.05 # a status written after the patch
      sed -n "s/^lpatchd: process $p: patched \([0-9.]*\) ms.*/\1/p" "$log" >>"$out/win"
      field "$st" old >>"$out/old"
      if grep -q "^lpatchd: process $p: released" "$log"; then
        held=$((held + 1))
        field "$st" old >>"$out/heldold"
      fi
      kill -9 "$p"
      wait "$p" 2>/dev/null || true
    done
    what="lpatchd ${hold:-without --hold}, a patched ${prog/loop-shared/library}"
    what=${what/patched loop/patched program}
    printf '| %s: exec to patched, median / max of %d (ms) | %s | |\n' "$what" "$RUNS" \
      "$(median_max <"$out/win")"
    printf '| %s: old-code calls before patched, median / max | %s | %s |\n' "$what" \
      "$(median_max <"$out/old")" \
      "${hold:+held $held of $RUNS; their old-code calls: $(sort -n "$out/heldold" | tail -1)}"
  done
  kill "$dpid"
  wait "$dpid" 2>/dev/null || true
  dpid=
done
