#!/usr/bin/env bash
# Reproducer (differ compare.c reloc_desc; issue #12 class 1): at -O0 GCC
# puts string literals in plain .rodata (no mergeable .rodata.str1.1), one
# after the other, referenced as .rodata+offset.  A string added in one
# function shifts the offsets of all later ones, and the object-code
# cross-check refused the unchanged function that uses them:
#   [HASH_MISMATCH] function banner: plugin hash says unchanged but the
#   object code is different
# Real case: `make livepatch` of a project whose build uses -O0 (debug
# builds); the same happens to any anonymous read-only object (jump tables,
# initializer templates) at any level.
#
#   bash tests/real/regress/lpdiff-O0-string-shift.sh   (exit 0: bug present)
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
lpdiff=${LPDIFF:-$top/build/san/bin/lpdiff}
plugin=${LP_PLUGIN:-$top/build/livepatch.so}
work=$top/tests/out/regress-O0-string-shift
rm -rf "$work" && mkdir -p "$work/v1" "$work/v2"
for v in 1 2; do
  d=$work/v$v
  fix=$([[ $v == 2 ]] && echo 'puts("the fix is in");')
  cat >"$d/prog.c" <<C
#include <stdio.h>
void greet(void) { puts("hello"); $fix }
void banner(void) { puts("== banner =="); puts("version 1.0"); }
int main(void) { greet(); banner(); return 0; }
C
  (cd "$d" && gcc -fplugin="$plugin" -ffile-prefix-map="$d"=. -g -O0 -c prog.c -o prog.o &&
    gcc -o prog prog.o) || exit 2
done
"$lpdiff" --old "$work/v1" --new "$work/v2" --module prog -o "$work/p.lpatch" \
  --report "$work/r.json" 2>&1 | grep -E 'refused|HASH_MISMATCH'
rc=${PIPESTATUS[0]}
echo "lpdiff exit: $rc (expected 0: patch written, changed: greet only)"
[[ $rc != 0 ]] || ! jq -e '.changed == ["greet"]' "$work/r.json" >/dev/null
