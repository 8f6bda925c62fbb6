#!/usr/bin/env bats
# Every kind of module: PIE, non-PIE, shared library, static executable;
# new code that calls into the module and into libc; static variables,
# static locals and TLS that keep their values across the switch.
load helpers

setup_file() {
  build_mkpatch
  local d=$BATS_FILE_TMPDIR
  target loop-pie loop.c
  target loop-nopie loop.c -no-pie
  target loop-static loop.c -static
  lp_cc "$d/libcompute.so" "$APPLIER_SRC/targets/libcompute.c" -I"$APPLIER_SRC/targets" -fPIC -shared
  target loop-shared loop.c -DEXTERN_COMPUTE -L"$d" -lcompute -Wl,-rpath,"$d"
  target statics statics.c
}

teardown() { stop_all; }

# apply and revert a patch of compute() in module MOD of program PROG
flip() { # PROG MOD SPEC
  local st=$BATS_TEST_TMPDIR/st p=$BATS_TEST_TMPDIR/p.lpatch
  mkpatch "$p" "$BATS_FILE_TMPDIR/$2" "$3"
  start nice -n 10 "$BATS_FILE_TMPDIR/$1" 2 "$st"
  wait_until test -s "$st"
  run "$LPATCH" apply --timeout 60000 "$TPID" "$p"
  assert_success
  grows "$st" new1
  run "$LPATCH" revert --timeout 60000 "$TPID"
  assert_success
  grows "$st" old
  [[ $(field "$st" bad) == 0 ]]
  running "$TPID"
}

@test "PIE executable" {
  flip loop-pie loop-pie "compute=$COMPUTE_1001"
}

@test "non-PIE executable" {
  flip loop-nopie loop-nopie "compute=$COMPUTE_1001"
}

@test "static executable" {
  flip loop-static loop-static "compute=$COMPUTE_1001"
}

@test "shared library, matched by its build-id" {
  flip loop-shared libcompute.so "compute=$COMPUTE_1001"
}

@test "new code calls a function of the module (PC-relative fixup)" {
  # compute(x) = other(x) + 994
  flip loop-pie loop-pie 'compute=e8 @other 05 e2 03 00 00 c3'
}

@test "new code calls a libc function resolved through the link map" {
  # compute(x) = abs(x) + 1001, with the stack aligned for the call
  flip loop-pie loop-pie 'compute=48 83 ec 08 e8 @@abs 48 83 c4 08 05 e9 03 00 00 c3'
}

@test "new code calls an IFUNC the program imports: the GOT's resolved choice" {
  # compute(x) = x + 1000 + strlen(one); push/pop keep the stack aligned
  flip loop-pie loop-pie 'compute=57 48 8d 3d @one e8 @@strlen 5f 8d 84 07 e8 03 00 00 c3'
}

@test "new code in a shared library calls into its own module" {
  flip loop-shared libcompute.so 'compute=e8 @other 05 e2 03 00 00 c3'
}

@test "static locals, file statics and TLS keep their values across apply and revert" {
  local d=$BATS_FILE_TMPDIR st=$BATS_TEST_TMPDIR/st p=$BATS_TEST_TMPDIR/p.lpatch calls
  calls=$(nm "$d/statics" | awk '$3 ~ /^calls(\.[0-9]+)?$/ {print $3; exit}')
  [[ -n $calls ]]
  local plus='05 a0 86 01 00 c3' # add $100000,%eax; ret
  mkpatch "$p" "$d/statics" \
    "bump=8b 05 @$calls 83 c0 01 89 05 @$calls $plus" \
    "add=8b 05 @total 83 c0 01 89 05 @total $plus" \
    "tbump=64 8b 04 25 %tcount 83 c0 01 64 89 04 25 %tcount $plus"
  start "$d/statics" "$st"
  wait_until test -s "$st"
  grows "$st" ok
  run "$LPATCH" apply "$TPID" "$p"
  assert_success
  grows "$st" new
  run "$LPATCH" revert "$TPID"
  assert_success
  grows "$st" ok
  # every result continued the count: the patched code used the same variables
  [[ $(field "$st" bad) == 0 ]]
}

@test "a large patch to a shared library of a process with a heap goes above the heap, far from it" {
  # Libraries sit together with only small holes between them: a patch of
  # ~300 KiB fits only in the space between the heap and the libraries.
  local d=$BATS_TEST_TMPDIR v i
  for v in 1 2; do
    mkdir -p "$d/v$v"
    {
      echo 'int big(int x) {'
      echo '  unsigned acc = (unsigned)x;'
      for ((i = 0; i < (v == 1 ? 10 : 20000); i++)); do echo "  acc = acc * 3 + $i;"; done
      echo '  return (int)acc;'
      echo '}'
    } >"$d/v$v/big.c"
    (cd "$d/v$v" && gcc -fplugin="$LP_PLUGIN" -ffile-prefix-map="$d/v$v"=. -g -O1 -fPIC -c big.c &&
      gcc -shared -o libbig.so big.o)
  done
  printf '%s\n' '#include <stdlib.h>' '#include <unistd.h>' 'int big(int);' \
    'int main(void) { void *keep = malloc(100); for (;;) { big(1); usleep(1000); } free(keep); }' \
    >"$d/main.c"
  gcc -o "$d/main" "$d/main.c" -L"$d/v1" -lbig -Wl,-rpath,"$d/v1"
  "$LPDIFF" --old "$d/v1" --new "$d/v2" --module libbig.so -o "$d/p.lpatch" >/dev/null
  start "$d/main"
  run "$LPATCH" apply --timeout 60000 "$TPID" "$d/p.lpatch"
  assert_success
  # the image: below the library, at least 1 GiB above the heap's end
  local heap_end img lib
  heap_end=$((16#$(awk '/\[heap\]/ { split($1, a, "-"); print a[2] }' "/proc/$TPID/maps")))
  lib=$((16#$(awk '/libbig.so/ { split($1, a, "-"); print a[1]; exit }' "/proc/$TPID/maps")))
  img=$((16#$("$LPATCH" list --json "$TPID" | jq -r '.patches[0].image' | sed 's/^0x//')))
  ((img > heap_end + (1 << 30) && img < lib))
  run "$LPATCH" revert --timeout 60000 "$TPID"
  assert_success
  running "$TPID"
}
