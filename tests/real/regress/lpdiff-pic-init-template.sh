#!/usr/bin/env bash
# Reproducer (differ emit.c resolve + gcc-plugin LPMETA_ANON records; issue
# #12 class 1): a function with a large automatic array of pointers,
#   const char *help[] = { ...60 strings... };
# is compiled as a copy from an initializer template that GCC, under PIC,
# puts in writable .data with no symbol.  A fix that adds a line to it was
# refused:
#   [UNRESOLVED] symbol .data (referenced from prog.c): reference into
#   writable data with no variable there
# although nothing writes the template (it is only copied from).
#
#   bash tests/real/regress/lpdiff-pic-init-template.sh   (exit 0: bug present)
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
lpdiff=${LPDIFF:-$top/build/san/bin/lpdiff}
plugin=${LP_PLUGIN:-$top/build/livepatch.so}
work=$top/tests/out/regress-pic-init-template
rm -rf "$work" && mkdir -p "$work/v1" "$work/v2"
for v in 1 2; do
  d=$work/v$v
  {
    echo '#include <stdio.h>'
    echo 'void usage(void) { const char *help[] = {'
    for i in $(seq 1 60); do echo "  \"option $i\","; done
    [[ $v == 2 ]] && echo '  "--secure: the fix",'
    echo '}; for (unsigned i = 0; i < sizeof help / sizeof *help; i++) puts(help[i]); }'
    echo 'int main(void) { usage(); return 0; }'
  } >"$d/prog.c"
  (cd "$d" && gcc -fplugin="$plugin" -ffile-prefix-map="$d"=. -g -O2 -fPIE -c prog.c -o prog.o &&
    gcc -pie -o prog prog.o) || exit 2
done
"$lpdiff" --old "$work/v1" --new "$work/v2" --module prog -o "$work/p.lpatch" 2>&1 |
  grep -E 'refused|UNRESOLVED'
rc=${PIPESTATUS[0]}
echo "lpdiff exit: $rc (expected 0: patch written)"
[[ $rc != 0 ]]
