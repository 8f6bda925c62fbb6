#!/usr/bin/env bash
# Reproducer (differ, compare.c compare_check_entries; fixed with
# tests/differ/cxx.bats): a changed C++ constructor at -O2.  g++ emits the
# complete-object (C1) and base-object (C2) constructors as one code body
# with two symbols at one address; lpdiff took them as two changed
# functions and wrote two redirects of the same old address, then failed
# its own validation (exit 2):
#   written patch fails validation: ... .lp.funcs[1] '_ZN6WidgetC1Ei': old
#   function 0x1150 already redirected by [0]
# Every C++ class whose constructor or destructor changed was unpatchable.
#
#   bash tests/real/regress/lpdiff-cxx-ctor-alias.sh   (exit 0: bug present)
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
lpdiff=${LPDIFF:-$top/build/san/bin/lpdiff}
work=$top/tests/out/regress-cxx-ctor-alias
rm -rf "$work" && mkdir -p "$work/v1" "$work/v2"
for v in 1 2; do
  d=$work/v$v
  cat >"$d/w.cc" <<C
struct Widget { int v; explicit Widget(int x); };
Widget::Widget(int x) : v(x + $v) {}
struct Gadget : Widget { Gadget() : Widget(3) {} };
int main() { Widget w(1); Gadget g; return w.v + g.v; }
C
  (cd "$d" && g++ -fplugin="$top/build/livepatch.so" -ffile-prefix-map="$d"=. -g -O2 -fPIE \
    -c w.cc -o w.o && g++ -pie -o prog w.o) || exit 2
done
"$lpdiff" --old "$work/v1" --new "$work/v2" --module prog -o "$work/p.lpatch" 2>&1 |
  grep -E 'refused|validation|alias|patch:'
rc=${PIPESTATUS[0]}
echo "lpdiff exit: $rc (expected 0: patch written)"
[[ $rc != 0 ]]
