#!/usr/bin/env bash
# Reproducer (differ, build.c linked_into; fixed in 7625afe): a build tree where each source is
# also compiled a second time, by g++ *without* the plugin, for another
# library - Debian's lua5.4 build does this for liblua5.4-c++.so, with
# LUA_API = extern "C".  The plugin-less twin foo-c++.o passes the fallback
# test (its FILE symbol "foo.c" is in the module, its only global symbol is
# an extern "C" name the module also defines), so lpdiff takes it as linked
# into the module too.  Here lpdiff then fails its own validation
#   written patch fails validation: ... 'api': old function 0x1160 already
#   redirected by [0]            (exit 2)
# and on Debian's lua5.4 tree it refuses (exit 3)
#   [AMBIGUOUS] unit lapi.c: linked from two object files (.../lapi-c++.o)
# although the module has plugin records saying which units it links.
#
#   bash tests/real/regress/lpdiff-cxx-twin.sh   (exit 0: bug present)
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
lpdiff=${LPDIFF:-$top/build/san/bin/lpdiff}
work=$top/tests/out/regress-cxx-twin
rm -rf "$work" && mkdir -p "$work/v1" "$work/v2"
for v in 1 2; do
  d=$work/v$v
  cat >"$d/foo.c" <<C
#ifdef __cplusplus
extern "C"
#endif
int api(int x) { return x + $v; }
C
  printf 'int api(int);\nint main(void) { return api(1); }\n' >"$d/main.c"
  (cd "$d" && gcc -fplugin="$top/build/livepatch.so" -ffile-prefix-map="$d"=. -g -O2 -c foo.c -o foo.o &&
    gcc -fplugin="$top/build/livepatch.so" -ffile-prefix-map="$d"=. -g -O2 -c main.c -o main.o &&
    g++ -x c++ -g -O2 -c foo.c -o foo-c++.o &&
    gcc -o prog main.o foo.o) || exit 2
done
"$lpdiff" --old "$work/v1" --new "$work/v2" --module prog -o "$work/p.lpatch" 2>&1 | grep -E 'refused|AMBIGUOUS|patch'
rc=${PIPESTATUS[0]}
echo "lpdiff exit: $rc (expected 0: patch written)"
[[ $rc != 0 ]]
