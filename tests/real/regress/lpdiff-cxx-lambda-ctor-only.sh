#!/usr/bin/env bash
# Reproducer (differ, typecheck.c check_init_only; fixed with
# tests/differ/cxx.bats): a lambda stored in a static std::function.  The
# static's constructor takes the address of the lambda's invoker
# (std::_Function_handler<...>::_M_invoke, with the lambda inlined); no
# other code refers to it, so lpdiff took "only a constructor calls it" and
# refused a change of the lambda's body (exit 3):
#   refused [CTOR_CHANGED] function _ZNSt17_Function_handler...: changed,
#   but only constructor _GLOBAL__sub_I_... calls it
# although the invoker runs on every call of the std::function, long after
# start-up.  Taking an address is not a call.
#
#   bash tests/real/regress/lpdiff-cxx-lambda-ctor-only.sh   (exit 0: bug present)
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
lpdiff=${LPDIFF:-$top/build/san/bin/lpdiff}
work=$top/tests/out/regress-cxx-lambda
rm -rf "$work" && mkdir -p "$work/v1" "$work/v2"
for v in 1 2; do
  d=$work/v$v
  cat >"$d/l.cc" <<C
#include <functional>
static std::function<int(int)> make(int b) { return [b](int x) { return b + x * $v; }; }
static std::function<int(int)> f = make(7);
int main(int argc, char **) { return f(argc); }
C
  (cd "$d" && g++ -fplugin="$top/build/livepatch.so" -ffile-prefix-map="$d"=. -g -O2 -fPIE \
    -c l.cc -o l.o && g++ -pie -o prog l.o) || exit 2
done
"$lpdiff" --old "$work/v1" --new "$work/v2" --module prog -o "$work/p.lpatch" 2>&1 |
  grep -E 'refused|patch:'
rc=${PIPESTATUS[0]}
echo "lpdiff exit: $rc (expected 0: patch written)"
[[ $rc != 0 ]]
