#!/usr/bin/env bash
# Reproducer (applier/apply.c relocate + runtime lp_relocate; fixed in ee2d520): a stacked
# patch (v2->v3, applied on top of v1->v2 in a process running v1) whose new
# code calls a function of the module cannot be applied:
#   lpatch: apply p23.lpatch to process N: p23.lpatch: layout was computed
#   for another patch                                             (exit 1)
# apply.c computes the image layout with the patch's LP_SYM_MODULE symbols,
# then relocate() turns them into LP_SYM_DYNAMIC (resolved by name, since the
# process runs another build) for the lp_relocate call; lp_relocate
# recomputes the layout, and a DYNAMIC call target takes a call stub that a
# MODULE one does not: the two layouts differ.
# Real case: Debian lua5.4, 4->5 (luaG_runerror calls luaO_pushvfstring, ...)
# applied on top of 3->4.
#
#   bash tests/real/regress/lpatch-stacked-module-call.sh   (exit 0: bug present)
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
lpdiff=${LPDIFF:-$top/build/san/bin/lpdiff}
lpatch=${LPATCH:-$top/build/san/bin/lpatch}
plugin=${LP_PLUGIN:-$top/build/livepatch.so}
work=$top/tests/out/regress-stacked
rm -rf "$work" && mkdir -p "$work"
for v in 1 2 3; do
  d=$work/v$v
  mkdir -p "$d"
  f=$((v >= 2 ? 20 : 10)) g=$((v >= 3 ? 200 : 100))
  cat >"$d/prog.c" <<C
#include <unistd.h>
__attribute__((noinline)) int helper(int x) { return x * 2; }
__attribute__((noinline)) int f(int x) { return x + $f; }
__attribute__((noinline)) int g(int x) { return helper(x) + $g; }
int main(void) { volatile int s = 0; for (;;) { s += f(1) + g(2); usleep(1000); } }
C
  (cd "$d" && gcc -fplugin="$plugin" -ffile-prefix-map="$d"=. -g -O2 -c prog.c -o prog.o &&
    gcc -o prog prog.o) || exit 2
done
"$lpdiff" --old "$work/v1" --new "$work/v2" --module prog -o "$work/p12.lpatch" >/dev/null || exit 2
"$lpdiff" --old "$work/v2" --new "$work/v3" --module prog -o "$work/p23.lpatch" >/dev/null || exit 2
"$work/v1/prog" &
pid=$!
sleep 0.2
"$lpatch" apply "$pid" "$work/p12.lpatch" || { kill $pid; exit 2; }
"$lpatch" apply "$pid" "$work/p23.lpatch"
rc=$?
kill $pid
echo "second apply exit: $rc (expected 0)"
[[ $rc != 0 ]]
