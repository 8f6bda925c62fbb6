#!/usr/bin/env bash
# Reproducer (applier/stop.c seize): lpatch revert on samples/sessions' server
# (one thread per connection, a client loop opening connections) failed now
# and then with
#   cannot ptrace process N (thread T): Operation not permitted (not
#   permitted: another tracer, or no CAP_SYS_PTRACE)              (exit 3)
# ptrace refuses a thread that has already exited with EPERM; lpatch read
# the thread's state to tell, but a detached thread may be reaped before
# that read, and a missing thread was taken for a refusal.
#
#   bash tests/real/regress/lpatch-exiting-thread-eperm.sh   (exit 0: fixed)
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
lpatch=${LPATCH:-$top/build/san/bin/lpatch}
plugin=${LP_PLUGIN:-$top/build/livepatch.so}
work=$top/tests/out/regress-exiting-thread
rm -rf "$work" && mkdir -p "$work"
t=$top/tests/applier/targets
gcc -fplugin="$plugin" -O2 -pthread -I"$t" -o "$work/spawner" "$t/spawner.c" || exit 2
lib=$top/build/lib/liblivepatch.a
gcc -D_GNU_SOURCE -I"$top/build/include/runtime" -std=gnu11 -O1 -o "$work/mkpatch" \
  "$top/tests/applier/mkpatch.c" "$lib" -lelf -lxxhash || exit 2
"$work/mkpatch" "$work/p.lpatch" "$work/spawner" "compute=8d 87 e9 03 00 00 c3" || exit 2
"$work/spawner" "$work/st" &
pid=$!
trap 'kill -9 $pid 2>/dev/null' EXIT
sleep 0.3
fails=0
for ((i = 0; i < 100; i++)); do
  "$lpatch" apply "$pid" "$work/p.lpatch" >/dev/null 2>"$work/err" || { fails=$((fails + 1)); cat "$work/err"; }
  "$lpatch" revert "$pid" >/dev/null 2>"$work/err" || { fails=$((fails + 1)); cat "$work/err"; }
done
echo "$fails of 200 apply/revert failed"
[ "$fails" = 0 ]
