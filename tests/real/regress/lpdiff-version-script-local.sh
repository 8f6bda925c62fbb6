#!/usr/bin/env bash
# Reproducer (differ; fixed in 7625afe): a changed function that is GLOBAL in its object file
# but LOCAL in the linked module - what a linker version script
# ("local: *;", as Debian's liblua5.4 and lua5.4 use) or -fvisibility=hidden
# does - is refused:
#   [UNRESOLVED] function helper: not found in the OLD module's symbol table
# although the module's .symtab has it (as a LOCAL symbol of foo.c).
# Real case: Debian lua5.4, patch 0005 changes luaG_runerror (ldebug.c).
#
#   bash tests/real/regress/lpdiff-version-script-local.sh  (exit 0: bug present)
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
lpdiff=${LPDIFF:-$top/build/san/bin/lpdiff}
work=$top/tests/out/regress-version-script
rm -rf "$work" && mkdir -p "$work/v1" "$work/v2"
printf 'FOO { global: api; local: *; };\n' >"$work/foo.map"
for v in 1 2; do
  d=$work/v$v
  printf 'int helper(int x) { return x + %d; }\nint api(int x) { return helper(x) * 2; }\n' $v >"$d/foo.c"
  (cd "$d" && gcc -fplugin="$top/build/livepatch.so" -ffile-prefix-map="$d"=. -g -O2 -fPIC -c foo.c -o foo.o &&
    gcc -shared -Wl,--version-script="$work/foo.map" -o libfoo.so foo.o) || exit 2
done
readelf -sW "$work/v1/libfoo.so" | awk '$8 == "helper" { print "v1 libfoo.so .symtab: helper", $4, $5 }'
"$lpdiff" --old "$work/v1" --new "$work/v2" --module libfoo.so -o "$work/p.lpatch" 2>&1 | grep -E 'refused|UNRESOLVED|patch'
rc=${PIPESTATUS[0]}
echo "lpdiff exit: $rc (expected 0: patch written)"
[[ $rc == 3 ]]
