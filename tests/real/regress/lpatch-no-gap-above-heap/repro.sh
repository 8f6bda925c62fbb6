#!/usr/bin/env bash
# Reproducer (applier): lpatch finds no room for a patch image of a few
# hundred KiB next to a shared library in an ordinary process:
#   no free address range within 2 GiB of .../libbig.so
# although terabytes are free right below the lowest library.  That free
# range is the gap whose lower neighbour is [heap], and applier/proc.c's
# gap_usable() rejects such a gap whole (to leave brk room), so only the
# alignment holes between libraries remain.  Real case: Debian expat's
# libexpat.so; the first patch (18 functions) took the one 44 KiB hole,
# the next stacked patch found nothing.
#
#   bash tests/real/regress/lpatch-no-gap-above-heap/repro.sh  (exit 0: bug present)
set -u
top=$(cd "$(dirname "$0")/../../../.." && pwd)
lpdiff=${LPDIFF:-$top/build/san/bin/lpdiff}
lpatch=${LPATCH:-$top/build/san/bin/lpatch}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
work=$top/tests/out/regress-no-gap-above-heap
rm -rf "$work" && mkdir -p "$work/v1" "$work/v2"
for v in 1 2; do
  d=$work/v$v
  {
    echo 'int big(int x) {'
    echo '  volatile int acc = x;'
    # v2: ~20000 statements, some 300 KiB of code in one changed function
    for ((i = 0; i < (v == 1 ? 10 : 20000); i++)); do echo "  acc = acc * 3 + $i;"; done
    echo '  return acc;'
    echo '}'
  } >"$d/big.c"
  (cd "$d" && gcc -fplugin="$top/build/livepatch.so" -ffile-prefix-map="$d"=. -g -O1 -fPIC -c big.c -o big.o &&
    gcc -shared -o libbig.so big.o) || exit 2
done
printf '#include <stdlib.h>\n#include <unistd.h>\nint big(int);\nint main(void) {\n  void *keep = malloc(100); /* a [heap], as in any real process */\n  for (;;) { big(1); usleep(1000); }\n  free(keep);\n}\n' >"$work/main.c"
gcc -o "$work/main" "$work/main.c" -L"$work/v1" -lbig -Wl,-rpath,"$work/v1" || exit 2
"$lpdiff" --old "$work/v1" --new "$work/v2" --module libbig.so -o "$work/p.lpatch" >/dev/null || exit 2
"$work/main" &
pid=$!
sleep 0.3
awk '{ print "  " $0 }' "/proc/$pid/maps" | grep -E '\[heap\]|libbig'
out=$("$lpatch" apply "$pid" "$work/p.lpatch" 2>&1)
rc=$?
kill "$pid"
echo "$out"
echo "lpatch exit: $rc (expected 0: applied)"
[[ $out == *"no free address range"* ]]
