#!/usr/bin/env bash
# Reproducer (differ/compare.c, only_lines_differ; fixed in b24af8d and 52a3b0c by checking call
# arguments against each build's DWARF line table): lines added above a
# function move the __LINE__ it passes to a logging or accounting call
# (expat: accountingDiffTolerated(..., __LINE__, ...)), which changes one
# `mov $LINE, %esi` and nothing else.  lpdiff left out such functions only
# when the call was __assert_fail; any other call dragged the function,
# often a hot one, into the patch:
#     changed functions (2):  hot  fixed
#
#   bash tests/real/regress/lpdiff-line-arg-noise.sh   (exit 0: bug present)
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
lpdiff=${LPDIFF:-$top/build/san/bin/lpdiff}
work=$top/tests/out/regress-line-arg
rm -rf "$work" && mkdir -p "$work/v1" "$work/v2"
for v in 1 2; do
  d=$work/v$v
  {
    echo 'void log_at(const char *file, int line, const char *msg);'
    echo '#define LOG(msg) log_at(__FILE__, __LINE__, msg)'
    [ $v = 2 ] && printf '/* a comment\n   of two lines */\n'
    echo 'int hot(int x) { LOG("hot"); return x * 2; }'
    echo "int fixed(int x) { return x + $v; }"
  } >"$d/work.c"
  printf 'void log_at(const char *f, int l, const char *m) { (void)f; (void)l; (void)m; }\n' >"$d/log.c"
  printf 'int hot(int);\nint fixed(int);\nint main(void) { return hot(1) + fixed(2); }\n' >"$d/main.c"
  for f in work log main; do
    (cd "$d" && gcc -fplugin="$top/build/livepatch.so" -ffile-prefix-map="$d"=. -g -O2 -c $f.c -o $f.o) || exit 2
  done
  gcc -o "$d/prog" "$d"/work.o "$d"/log.o "$d"/main.o || exit 2
done
"$lpdiff" --old "$work/v1" --new "$work/v2" --module prog -n --report "$work/r.json" 2>&1
if jq -e '.changed | index("hot")' "$work/r.json" >/dev/null; then
  echo "bug present: hot, whose only change is the line LOG() passes, is replaced"
  exit 0
fi
echo "not reproduced: hot left out"; exit 1
