#!/usr/bin/env bash
# Reproducer (make-rules/livepatch.sh, build_rev; fixed in d933e17 by keep-objects/collect2):
# a foreign project whose Makefile compiles and links in one step,
#     prog: main.c util.c
#             $(CC) -O2 -g -o prog main.c util.c
# leaves no object file: GCC's driver compiles into temporary objects and
# deletes them after linking.  `make livepatch` then failed in lpdiff with
#     lpdiff: .../.livepatch/build/v1: no object file linked into prog found
# (exit 2).  -save-temps=obj would keep the objects, but compiling the
# preprocessed file moves DWARF column numbers, so the build-id no longer
# matched the deployed build, and one step over a/u.c b/u.c overwrote one
# kept object with the other.
#
#   bash tests/real/regress/make-livepatch-one-step-build.sh   (exit 0: bug present)
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
work=$top/tests/out/regress-one-step
rm -rf "$work" && mkdir -p "$work/v1" "$work/v2"
for v in 1 2; do
  printf 'int step(int);\nint main(void) { return step(0); }\n' >"$work/v$v/main.c"
  printf 'int step(int x) { return x + %d; }\n' $v >"$work/v$v/util.c"
  printf 'prog: main.c util.c\n\t$(CC) -O2 -g -o prog main.c util.c\n' >"$work/v$v/Makefile"
done
cd "$work" || exit 2
if make -s -f "$top/make-rules/livepatch.mk" livepatch OLD=v1 NEW=v2 LIVEPATCH_MODULES=prog \
  >out.txt 2>&1; then
  cat out.txt
  echo "not reproduced: livepatch/prog.lpatch written"; exit 1
fi
cat out.txt
echo "bug present: no patch for a one-step build"
