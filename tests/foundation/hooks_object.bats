#!/usr/bin/env bats
# The in-target hook runtime as built (runtime/hooks/ -> build/lib/
# livepatch-hooks.o, liblivepatch-hooks.a): lpdiff copies that object into
# patches that run inside arbitrary processes, so it must need nothing from
# them - no undefined symbol, no TLS, no constructor, no absolute relocation
# - and show only the API.  A NEW build linked with it runs directly.
load ../lib/common

obj=$LP_TOP/build/lib/livepatch-hooks.o
lib=$LP_TOP/build/lib/liblivepatch-hooks.a

setup_file() {
  make -C "$LP_TOP" --no-print-directory -s build/lib/livepatch-hooks.o build/lib/liblivepatch-hooks.a
}

@test "hooks object: a relocatable object with no undefined symbol at all" {
  run readelf -hW "$obj"
  assert_success
  assert_output --regexp 'Type: +REL '
  run nm -u "$obj"
  assert_success
  assert_output ''
  # the check sees an undefined symbol when there is one
  printf 'extern void lp_elsewhere(void);\nvoid z(void) { lp_elsewhere(); }\n' >"$BATS_TEST_TMPDIR/u.c"
  gcc -O2 -c "$BATS_TEST_TMPDIR/u.c" -o "$BATS_TEST_TMPDIR/u.o"
  run nm -u "$BATS_TEST_TMPDIR/u.o"
  assert_output --partial lp_elsewhere
}

@test "hooks object: no TLS, no constructors or destructors, no absolute relocations" {
  run readelf -SW "$obj"
  assert_success
  refute_output --regexp '\.(tdata|tbss|init_array|fini_array|ctors|dtors|init|fini|preinit_array)'
  run readelf -sW "$obj"
  refute_output --partial ' TLS '
  # only PC-relative relocations: lpdiff places the object anywhere
  run bash -c "readelf -rW '$obj' | awk '/^[0-9a-f]+ /{print \$3}' | sort -u"
  assert_success
  [[ -n $output ]]
  local t
  for t in $output; do
    [[ $t =~ ^R_X86_64_(PC32|PLT32|GOTPCREL|GOTPCRELX|REX_GOTPCRELX)$ ]] || fail "relocation $t"
  done
}

@test "hooks object: only the API and the context are global" {
  run bash -c "nm -g --defined-only '$obj' | awk '{print \$3}' | sort"
  assert_success
  assert_output "$(printf '%s\n' lp__hook_ctx lp_shadow_alloc lp_shadow_free lp_shadow_free_all \
    lp_shadow_get lp_shadow_get_or_alloc lp_veto)"
  # the context is zero-filled .data (the hook table points into .lp.data)
  run nm "$obj"
  assert_output --regexp '[0-9a-f]+ D lp__hook_ctx'
  # the context is hidden (each patch has its own), the functions are not
  run readelf -sW "$obj"
  assert_output --regexp 'OBJECT +GLOBAL +HIDDEN +[0-9]+ lp__hook_ctx'
  assert_output --regexp 'FUNC +WEAK +DEFAULT +[0-9]+ lp_veto'
  assert_output --regexp 'FUNC +WEAK +DEFAULT +[0-9]+ lp_shadow_free_all'
}

@test "hooks archive: a NEW build linked with it runs, its store mapped on first use" {
  cat >"$BATS_TEST_TMPDIR/new.c" <<'C'
#include <stdio.h>
#include "livepatch-hooks.h"
static int conn;
int main(void)
{
    if (!lp_shadow_get_or_alloc) {
        puts("no hook runtime");
        return 1;
    }
    int *x = lp_shadow_get_or_alloc(&conn, 1, sizeof *x, NULL, NULL);
    *x = 42;
    int *y = lp_shadow_get(&conn, 1);
    printf("%d %d\n", y ? *y : -1, lp_veto("no"));
    lp_shadow_free(&conn, 1, NULL);
    printf("%s\n", lp_shadow_get(&conn, 1) ? "still there" : "freed");
    return 0;
}
C
  run ar t "$lib"
  assert_output livepatch-hooks.o
  local d=$BATS_TEST_TMPDIR
  gcc -O2 -I"$LP_TOP/runtime" "$d/new.c" -L"$LP_TOP/build/lib" \
    -Wl,--whole-archive -llivepatch-hooks -Wl,--no-whole-archive -o "$d/new"
  run "$d/new"
  assert_success
  assert_output "$(printf '42 -1\nfreed')"
  # the object itself links the same way
  gcc -O2 -I"$LP_TOP/runtime" "$d/new.c" "$obj" -o "$d/new2"
  run "$d/new2"
  assert_output "$(printf '42 -1\nfreed')"
  # the declarations are weak: a plain -l pulls nothing in (livepatch-hooks.h says so)
  gcc -O2 -I"$LP_TOP/runtime" "$d/new.c" -L"$LP_TOP/build/lib" -llivepatch-hooks -o "$d/new3"
  run "$d/new3"
  assert_failure
  assert_output 'no hook runtime'
}
