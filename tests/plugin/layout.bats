#!/usr/bin/env bats
# The patchable entry, checked on the bytes the linker produced: 16 NOP
# bytes of pad right before the symbol, then one 2-byte `66 90` at the
# symbol (after endbr64 with -fcf-protection), the symbol still aligned.
load ../lib/common
load helpers

setup() {
  [[ -f $LP_PLUGIN ]] || skip "plugin not built"
}

# bytes FILE ADDR LEN: LEN bytes at link-time address ADDR, as hex, read
# from the file through its PT_LOAD program headers.
bytes() {
  local type off vaddr filesz rest
  while read -r type off vaddr _ filesz rest; do
    [[ $type == LOAD ]] || continue
    if (($2 >= vaddr && $2 < vaddr + filesz)); then
      od -An -tx1 -v -j $(($2 - vaddr + off)) -N "$3" "$1" | tr -d ' \n'
      return
    fi
  done < <(readelf -lW "$1")
}

# check_layout FILE CF ALIGNED: every patchable function of FILE has the
# pad and the entry; CF=1 expects endbr64 first in every function that can
# be called indirectly; ALIGNED=1 expects the
# symbol on a 16-byte boundary.
check_layout() {
  local file=$1 cf=$2 aligned=$3 n=0
  local name flags addr prepad entry_off
  while IFS=$'\t' read -r name _ flags addr prepad entry_off _; do
    [[ $flags == *patchable* ]] || continue
    n=$((n + 1))
    [[ $prepad == 16 ]] || { echo "$file: $name: prepad $prepad" >&2; return 1; }
    local pad entry want_entry
    pad=$(bytes "$file" $((addr - 16)) 16)
    [[ $pad == "90909090909090909090909090909090" ]] ||
      { echo "$file: $name: pad is $pad" >&2; return 1; }
    # endbr64 comes first under -fcf-protection, except in static functions
    # GCC sees are only called directly
    if ((cf)) && [[ $flags != *local* ]] && [[ $entry_off != 4 ]]; then
      echo "$file: $name: entry_off $entry_off, expected 4" >&2
      return 1
    fi
    ((cf)) || [[ $entry_off == 0 ]] || { echo "$file: $name: entry_off $entry_off" >&2; return 1; }
    if [[ $entry_off == 4 ]]; then want_entry=f30f1efa6690; else want_entry=6690; fi
    entry=$(bytes "$file" "$addr" $((entry_off + 2)))
    [[ $entry == "$want_entry" ]] || { echo "$file: $name: entry is $entry" >&2; return 1; }
    if ((aligned)) && ((addr % 16)); then
      echo "$file: $name at $addr is not 16-byte aligned" >&2
      return 1
    fi
  done < <("$LPDIFF" --list -v "$file")
  ((n >= 5)) || { echo "$file: only $n patchable functions" >&2; return 1; }
}

build_and_check() {
  local kind=$1 opt=$2 cf=$3 out="$BATS_TEST_TMPDIR/prog"
  local flags=("$opt" -fplugin-arg-livepatch-exclude=excluded_by_arg)
  ((cf)) && flags+=(-fcf-protection=full) || flags+=(-fcf-protection=none)
  case $kind in
    pie) gcc -fplugin="$LP_PLUGIN" "${flags[@]}" -fPIE -pie -o "$out" "$SRC_DIR/sample.c" "$SRC_DIR/main.c" ;;
    nopie) gcc -fplugin="$LP_PLUGIN" "${flags[@]}" -fno-PIE -no-pie -o "$out" "$SRC_DIR/sample.c" "$SRC_DIR/main.c" ;;
    shared) gcc -fplugin="$LP_PLUGIN" "${flags[@]}" -fPIC -shared -o "$out" "$SRC_DIR/sample.c" ;;
  esac
  local aligned=0
  [[ $opt == -O2 || $opt == -O3 ]] && aligned=1
  check_layout "$out" "$cf" "$aligned"
  if [[ $kind != shared ]]; then
    run "$out"
    assert_success
    assert_output "6 one 2 2 3"
  fi
}

@test "entry layout, PIE executables, -O0 -O2 -O3 -Os, with and without -fcf-protection" {
  for opt in -O0 -O2 -O3 -Os; do
    for cf in 0 1; do build_and_check pie "$opt" "$cf"; done
  done
}

@test "entry layout, non-PIE executables, -O0 -O2 -O3 -Os, with and without -fcf-protection" {
  for opt in -O0 -O2 -O3 -Os; do
    for cf in 0 1; do build_and_check nopie "$opt" "$cf"; done
  done
}

@test "entry layout, -shared -fPIC libraries, -O0 -O2 -O3 -Os, with and without -fcf-protection" {
  for opt in -O0 -O2 -O3 -Os; do
    for cf in 0 1; do build_and_check shared "$opt" "$cf"; done
  done
}

@test "the pad belongs to the function's own section (object file)" {
  plugin_obj "$BATS_TEST_TMPDIR/s.o" "$SRC_DIR/sample.c"
  run bash -c "'$LPDIFF' --list -v '$BATS_TEST_TMPDIR/s.o' | awk -F'\t' '\$3 ~ /patchable/ && \$4 != \"0x10\"'"
  assert_success
  assert_output ""
  run objdump -d -j .text.greeting "$BATS_TEST_TMPDIR/s.o"
  assert_output --partial "<greeting-0x10>:"
}

@test "opt-out: patchable_function_entry(0,0) and exclude= get no pad and no entry" {
  gcc -fplugin="$LP_PLUGIN" -O2 -fplugin-arg-livepatch-exclude=excluded_by_arg \
    -o "$BATS_TEST_TMPDIR/prog" "$SRC_DIR/sample.c" "$SRC_DIR/main.c"
  run "$LPDIFF" --list -v "$BATS_TEST_TMPDIR/prog"
  assert_line --regexp '^opted_out	[0-9a-f]{32}	excluded	0x[0-9a-f]+	0	0	-$'
  assert_line --regexp '^excluded_by_arg	[0-9a-f]{32}	excluded	0x[0-9a-f]+	0	0	-$'
  run objdump -d --disassemble=opted_out "$BATS_TEST_TMPDIR/prog"
  refute_output --partial "66 90"
  run objdump -d --disassemble=excluded_by_arg "$BATS_TEST_TMPDIR/prog"
  refute_output --partial "66 90"
}

@test "records follow their function under --gc-sections; unit records stay" {
  gcc -fplugin="$LP_PLUGIN" -O2 -Wl,--gc-sections -o "$BATS_TEST_TMPDIR/gc" \
    "$SRC_DIR/sample.c" "$SRC_DIR/main.c"
  run "$LPDIFF" --list "$BATS_TEST_TMPDIR/gc"
  assert_line --regexp '^main	'
  assert_line --regexp '^switch_case	'
  refute_line --regexp '^untouched	' # never called: dropped with its record
  refute_line --regexp '^greeting	'
  # every record left points at a function symbol that is still there
  "$LPDIFF" --list -v "$BATS_TEST_TMPDIR/gc" | while IFS=$'\t' read -r name _ _ addr _; do
    nm "$BATS_TEST_TMPDIR/gc" | grep -qiE "^0*${addr#0x} [tT] $name\$" ||
      { echo "record $name at $addr has no symbol" >&2; exit 1; }
  done
  run "$LPDIFF" --units "$BATS_TEST_TMPDIR/gc"
  assert_line --regexp '/sample\.c	12\.'
  assert_line --regexp '/main\.c	12\.'
}

@test "-flto is refused with one line" {
  run gcc -fplugin="$LP_PLUGIN" -flto -O2 -c "$SRC_DIR/sample.c" -o "$BATS_TEST_TMPDIR/x.o"
  assert_failure
  assert_output --regexp '^[^ ]+: error: livepatch: -flto is not supported: '
  [[ ${#lines[@]} -eq 1 ]]
}

@test "the plugin sets the live-patching options itself (no ipa-icf, function sections)" {
  # ipa-icf would fold the twins into one body, so a patch to one would
  # silently patch the other
  cat >"$BATS_TEST_TMPDIR/icf.c" <<'EOF'
__attribute__((noinline)) static int twin_a(int *p) { return p[0] * 7 + p[1]; }
__attribute__((noinline)) static int twin_b(int *p) { return p[0] * 7 + p[1]; }
int use_twins(int *p) { return twin_a(p) + twin_b(p + 2); }
EOF
  gcc -O2 -c "$BATS_TEST_TMPDIR/icf.c" -o "$BATS_TEST_TMPDIR/plain.o"
  plugin_obj "$BATS_TEST_TMPDIR/lp.o" "$BATS_TEST_TMPDIR/icf.c"
  run objdump -d "$BATS_TEST_TMPDIR/plain.o"
  refute_output --partial "<twin_b>:" # GCC alone folds twin_b into twin_a
  run objdump -d "$BATS_TEST_TMPDIR/lp.o"
  assert_output --partial "<twin_a>:"
  assert_output --partial "<twin_b>:"
  run readelf -SW "$BATS_TEST_TMPDIR/lp.o"
  assert_output --partial ".text.twin_a"
  assert_output --partial ".text.twin_b"
}

@test "unit record: source, GCC version, format, code-generation options" {
  (cd "$SRC_DIR" && gcc -fplugin="$LP_PLUGIN" -O2 -fno-omit-frame-pointer -Wall -I/tmp -DX=1 -g \
    -c sample.c -o "$BATS_TEST_TMPDIR/s.o")
  run "$LPDIFF" --units "$BATS_TEST_TMPDIR/s.o"
  assert_success
  # the format is the contract's (lpmeta.h)
  fmt=$(awk '$1 == "#define" && $2 == "LPMETA_FORMAT_VERSION" { print $3 }' "$LP_TOP/gcc-plugin/lpmeta.h")
  [[ $fmt -ge 2 ]]
  assert_output --regexp "^sample\.c	$(gcc -dumpfullversion)[^	]*	$fmt	.*-O2.*$"
  assert_output --partial "-fno-omit-frame-pointer"
  refute_output --partial "-Wall"
  refute_output --partial "-I/tmp"
  refute_output --partial "-DX"
}

@test "exclude= also covers the clones GCC makes of an excluded function" {
  plugin_obj "$BATS_TEST_TMPDIR/c.o" "$SRC_DIR/clones.c" -fplugin-arg-livepatch-exclude=scale
  run "$LPDIFF" --list "$BATS_TEST_TMPDIR/c.o"
  assert_line --regexp '^scale\.constprop\.0	[0-9a-f]{32}	excluded,local,clone$'
  assert_line --regexp '^user1	[0-9a-f]{32}	patchable$'
}

@test "an unknown plugin argument is one error line" {
  run gcc -fplugin="$LP_PLUGIN" -fplugin-arg-livepatch-nosuch=1 -c "$SRC_DIR/clones.c" \
    -o "$BATS_TEST_TMPDIR/x.o"
  assert_failure
  assert_output --regexp "error: livepatch: unknown plugin argument .-fplugin-arg-livepatch-nosuch.$"
  [[ ${#lines[@]} -eq 1 ]]
}

@test "a user's own -fpatchable-function-entry is one error line" {
  run gcc -fplugin="$LP_PLUGIN" -fpatchable-function-entry=4,2 -c "$SRC_DIR/clones.c" \
    -o "$BATS_TEST_TMPDIR/x.o"
  assert_failure
  assert_output --regexp 'error: livepatch: -fpatchable-function-entry is set by the plugin itself; remove -fpatchable-function-entry=4,2$'
  [[ ${#lines[@]} -eq 1 ]]
}
