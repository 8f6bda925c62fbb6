#!/usr/bin/env bash
# Reproducer (differ): a function whose signature changes is refused because
# of its own switch jump table.  classify() gains a parameter and its only
# caller, api(), is changed to pass it, so both are replaced; GCC put
# classify's jump table in .rodata.classify (-ffunction-sections), whose
# relocations point into classify.  lpdiff takes that table for an
# unpatched caller:
#   [SIGNATURE] function classify: signature changes (1 -> 2 parameters) but
#   .rodata.classify, which is not patched, still calls it or takes its address
# Expected: patch written (classify and api replaced; the new classify
# brings its own new table).  Real case: Debian expat, CVE-2024-8176's fix
# (storeEntityValue, appendAttributeValue).
#
#   bash tests/real/regress/lpdiff-jump-table-signature/repro.sh  (exit 0: bug present)
set -u
top=$(cd "$(dirname "$0")/../../../.." && pwd)
lpdiff=${LPDIFF:-$top/build/san/bin/lpdiff}
work=$top/tests/out/regress-jump-table-signature
rm -rf "$work" && mkdir -p "$work/v1" "$work/v2"
for v in 1 2; do
  d=$work/v$v
  if [[ $v == 1 ]]; then sig='int x' bias='' call='classify(i)'; else sig='int x, int bias' bias=' + bias' call='classify(i, g)'; fi
  cat >"$d/foo.c" <<EOF
extern int f0(int), f1(int), f2(int), f3(int), f4(int), f5(int), f6(int);
int g;
__attribute__((noinline)) static int classify($sig) {
  switch (x) {
  case 0: return f0(x)$bias;
  case 1: return f1(x + 3);
  case 2: return f2(x * 7);
  case 3: return f3(x - 2);
  case 4: return f4(x ^ 5);
  case 5: return f5(x << 2);
  case 6: return f6(x >> 1);
  default: return -1;
  }
}
int api(int i) { return $call * 2; }
EOF
  (cd "$d" && gcc -fplugin="$top/build/livepatch.so" -ffile-prefix-map="$d"=. -g -O2 -fPIC -c foo.c -o foo.o &&
    gcc -shared -o libfoo.so foo.o) || exit 2
done
readelf -SW "$work/v1/foo.o" | grep -o '\.rela\.rodata\.classify' | sed 's/^/v1 foo.o has /'
"$lpdiff" --old "$work/v1" --new "$work/v2" --module libfoo.so -o "$work/p.lpatch" 2>&1 | grep -E 'refused|patch'
rc=${PIPESTATUS[0]}
echo "lpdiff exit: $rc (expected 0: patch written)"
[[ $rc == 3 ]]
