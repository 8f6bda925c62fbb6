#!/usr/bin/env bash
# Reproducer (make-rules/livepatch.sh, build_rev): cJSON's own CMake build
# links libcjson_utils.so with a RUNPATH naming its build tree.  make
# livepatch built each revision in its own directory, so libcjson_utils.so,
# which only the last of Debian's five fixes changes, had a different
# build-id at every level: the stacked patch 4->5 for it was "for" the
# level-4 library and the process running level 0's refused it ("maps no
# module with build-id ...").  Fixed: every revision is built at one path.
#
#   bash tests/real/regress/make-livepatch-build-tree-runpath.sh   (exit 0: bug present)
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
work=$top/tests/out/regress-build-tree-runpath
rm -rf "$work" && mkdir -p "$work/v1" "$work/v2"
for v in 1 2; do
  printf 'int util(int x) { return x * 3; }\n' >"$work/v$v/u.c"
  printf 'int util(int);\nint main(void) { return util(%d); }\n' $v >"$work/v$v/p.c"
  printf 'all: libu.so prog\nlibu.so: u.o\n\t$(CC) -shared -Wl,-rpath,$(CURDIR) -o $@ u.o\nu.o: u.c\n\t$(CC) -O2 -fPIC -c u.c\nprog: p.o libu.so\n\t$(CC) -o $@ p.o -L. -lu\np.o: p.c\n\t$(CC) -O2 -c p.c\n' >"$work/v$v/Makefile"
done
cd "$work" || exit 2
for v in v1 v2; do
  make -s -f "$top/make-rules/livepatch.mk" livepatch-build REV=$v LIVEPATCH_MODULES='prog libu.so' \
    LIVEPATCH_PLUGIN="$top/build/livepatch.so" >/dev/null || exit 2
done
a=$(readelf -n .livepatch/build/v1/libu.so | awk '/Build ID/ { print $3 }')
b=$(readelf -n .livepatch/build/v2/libu.so | awk '/Build ID/ { print $3 }')
echo "libu.so build-id at v1: $a, at v2: $b"
if [ "$a" = "$b" ]; then
  echo "not reproduced: the unchanged library keeps its build-id"; exit 1
fi
echo "bug present: an unchanged library has a new build-id in every revision"
