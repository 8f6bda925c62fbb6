#!/usr/bin/env bash
# Reproducer (differ, build.c linked_into; fixed in 7625afe): a libtool build compiles every
# source twice, foo.o (non-PIC, for the static archive and programs) and
# .libs/foo.o (-fPIC, for the shared library), both with the plugin.  Their
# unit records carry the same unit_id (the hash of the source path), so both
# look "linked into" the module and lpdiff refuses:
#   [AMBIGUOUS] unit foo.c: linked from two object files (...)
# The module's own records could tell them apart (options -fPIC, function
# hashes).  Every libtool project has this layout; Debian's lua5.4 has four
# objects per source (C/C++ x PIC/non-PIC).
#
#   bash tests/real/regress/lpdiff-libtool-pic-twin.sh   (exit 0: bug present)
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
lpdiff=${LPDIFF:-$top/build/san/bin/lpdiff}
plugin=${LP_PLUGIN:-$top/build/livepatch.so}
work=$top/tests/out/regress-pic-twin
rm -rf "$work" && mkdir -p "$work/v1/.libs" "$work/v2/.libs"
for v in 1 2; do
  d=$work/v$v
  printf 'int api(int x) { return x + %d; }\n' $v >"$d/foo.c"
  printf 'int api(int);\nint main(void) { return api(1); }\n' >"$d/main.c"
  cc="gcc -fplugin=$plugin -ffile-prefix-map=$d=. -g -O2"
  (cd "$d" && $cc -c foo.c -o foo.o && $cc -fPIC -c foo.c -o .libs/foo.o &&
    $cc -c main.c -o main.o && gcc -o prog main.o foo.o) || exit 2
done
"$lpdiff" --old "$work/v1" --new "$work/v2" --module prog -o "$work/p.lpatch" 2>&1 | grep -E 'refused|AMBIGUOUS|patch'
rc=${PIPESTATUS[0]}
echo "lpdiff exit: $rc (expected 0: patch written)"
[[ $rc != 0 ]]
