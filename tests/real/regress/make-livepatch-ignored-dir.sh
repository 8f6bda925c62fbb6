#!/usr/bin/env bash
# Reproducer (make-rules/livepatch.sh, list_dir_sources; fixed in cebd233): OLD/NEW directories
# that sit inside a git work tree *in an ignored directory* (e.g. under this
# repository's tests/out/) are synced as empty trees, because the source list
# comes from `git ls-files -co --exclude-standard`, which lists nothing there.
# The build then fails with "No targets specified and no makefile found".
#
#   bash tests/real/regress/make-livepatch-ignored-dir.sh   (exit 0: bug present)
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
work=$top/tests/out/regress-ignored-dir      # tests/out/ is in .gitignore
rm -rf "$work" && mkdir -p "$work/v1" "$work/v2"
for v in 1 2; do
  printf 'int f(void) { return %d; }\nint main(void) { return f(); }\n' $v >"$work/v$v/prog.c"
  printf 'prog: prog.c\n\t$(CC) -O2 -o prog prog.c\n' >"$work/v$v/Makefile"
done
cd "$work" || exit 2
git -C v1 ls-files -co --exclude-standard | wc -l | sed 's/^/files git lists in v1: /'
if make -s -f "$top/make-rules/livepatch.mk" livepatch-build REV=v1 LIVEPATCH_MODULES=prog 2>err.txt; then
  echo "not reproduced: v1 built"; exit 1
fi
cat err.txt
ls -A .livepatch/build/v1 | sed 's/^/synced: /'
echo "bug present: v1's prog.c and Makefile were not synced"
