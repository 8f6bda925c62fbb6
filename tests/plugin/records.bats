#!/usr/bin/env bats
# The records beyond the hash (links, statics, clones) and the reader's
# behaviour on files it cannot use: `lpdiff --list/--units`.
load ../lib/common
load helpers

setup() {
  [[ -f $LP_PLUGIN ]] || skip "plugin not built"
}

@test "lpdiff --list --help documents the output and exit codes" {
  run "$LPDIFF" --list --help
  assert_success
  assert_output --partial "name<TAB>hash<TAB>flags"
  assert_output --partial "Exit status"
}

@test "links: an inlined helper is traced to every caller" {
  plugin_obj "$BATS_TEST_TMPDIR/s.o" "$SRC_DIR/sample.c"
  run "$LPDIFF" --list --links "$BATS_TEST_TMPDIR/s.o"
  assert_success
  assert_line "inline	uses_helper	helper"
  assert_line "inline	also_helper	helper"
}

@test "clones: a constprop clone is flagged and linked to its origin" {
  plugin_obj "$BATS_TEST_TMPDIR/c.o" "$SRC_DIR/clones.c"
  run "$LPDIFF" --list -v "$BATS_TEST_TMPDIR/c.o"
  assert_line --regexp '^scale\.constprop\.0	[0-9a-f]{32}	patchable,local,clone	0x10	16	0	scale$'
  run "$LPDIFF" --list --links "$BATS_TEST_TMPDIR/c.o"
  assert_line "clone	scale.constprop.0	scale"
}

@test "statics: function-scope statics get stable function::var names" {
  plugin_obj "$BATS_TEST_TMPDIR/a.o" "$SRC_DIR/statics_a.c"
  run "$LPDIFF" --list --statics "$BATS_TEST_TMPDIR/a.o"
  assert_success
  assert_line --regexp '^counts::count	count\.[0-9]+$'
  assert_line --regexp '^twice::count	count\.[0-9]+$'
  assert_line --regexp '^twice::count#2	count\.[0-9]+$'
}

@test "statics: a new function renames GCC's var.N but leaves the others' hashes alone" {
  plugin_obj "$BATS_TEST_TMPDIR/a.o" "$SRC_DIR/statics_a.c"
  plugin_obj "$BATS_TEST_TMPDIR/b.o" "$SRC_DIR/statics_b.c"
  # GCC's numbering moved (the reason stable names exist) ...
  run diff <("$LPDIFF" --list --statics "$BATS_TEST_TMPDIR/a.o" | grep '^counts::') \
    <("$LPDIFF" --list --statics "$BATS_TEST_TMPDIR/b.o" | grep '^counts::')
  assert_failure
  # ... yet only the new function is a change
  run changed_functions "$BATS_TEST_TMPDIR/a.o" "$BATS_TEST_TMPDIR/b.o"
  assert_output late
  run "$LPDIFF" --list --statics "$BATS_TEST_TMPDIR/b.o"
  assert_line --regexp '^late::count	'
  assert_line --regexp '^late::other	'
}

@test "records survive linking: executable and shared library list the same hashes as the objects" {
  plugin_obj "$BATS_TEST_TMPDIR/s.o" "$SRC_DIR/sample.c" -fPIC
  gcc -shared -o "$BATS_TEST_TMPDIR/s.so" "$BATS_TEST_TMPDIR/s.o"
  run diff <(hashes "$BATS_TEST_TMPDIR/s.o") <(hashes "$BATS_TEST_TMPDIR/s.so")
  assert_success
  # a linked module's addresses are the symbols' link-time addresses
  "$LPDIFF" --list -v "$BATS_TEST_TMPDIR/s.so" | while IFS=$'\t' read -r name _ _ addr _; do
    nm "$BATS_TEST_TMPDIR/s.so" | grep -qiE "^0*${addr#0x} [tT] $name\$" ||
      { echo "record $name at $addr has no symbol there" >&2; exit 1; }
  done
}

@test "a file built without the plugin: message and exit 1" {
  gcc -O2 -c "$SRC_DIR/sample.c" -o "$BATS_TEST_TMPDIR/plain.o"
  run "$LPDIFF" --list "$BATS_TEST_TMPDIR/plain.o"
  assert_failure 1
  assert_output --partial "plain.o: no livepatch records"
}

@test "missing file and non-ELF input: one error line naming the file, exit 2" {
  run "$LPDIFF" --list "$BATS_TEST_TMPDIR/nothing.o"
  assert_failure 2
  assert_output --regexp '^lpdiff: .*/nothing\.o: cannot open: No such file or directory$'
  echo "not an object" >"$BATS_TEST_TMPDIR/text.o"
  run "$LPDIFF" --units "$BATS_TEST_TMPDIR/text.o"
  assert_failure 2
  assert_output --regexp '^lpdiff: .*/text\.o: not an ELF file$'
  run "$LPDIFF" --list
  assert_failure 2
}

# corrupt OBJ FIELD-OFFSET VALUE: overwrite 4 bytes of the first record of
# the first .livepatch.func section of OBJ.
corrupt() {
  local off
  off=$(readelf -SW "$1" | awk '$2 == ".livepatch.func" || $3 == ".livepatch.func" {
          for (i = 1; i <= NF; i++) if ($i == "PROGBITS") { print $(i + 2); exit } }')
  [[ -n $off ]] || return 1
  printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($3 & 255)) $((($3 >> 8) & 255)) \
    $((($3 >> 16) & 255)) $((($3 >> 24) & 255)))" |
    dd of="$1" bs=1 seek=$((16#$off + $2)) conv=notrunc status=none
}

@test "corrupt records: an error naming file, section and offset, exit 2" {
  plugin_obj "$BATS_TEST_TMPDIR/s.o" "$SRC_DIR/sample.c"
  cp "$BATS_TEST_TMPDIR/s.o" "$BATS_TEST_TMPDIR/badsize.o"
  corrupt "$BATS_TEST_TMPDIR/badsize.o" 4 3 # size not a multiple of 8
  run "$LPDIFF" --list "$BATS_TEST_TMPDIR/badsize.o"
  assert_failure 2
  assert_output --regexp '^lpdiff: .*/badsize\.o: section \.livepatch\.func offset 0x0: bad record size$'
  cp "$BATS_TEST_TMPDIR/s.o" "$BATS_TEST_TMPDIR/big.o"
  corrupt "$BATS_TEST_TMPDIR/big.o" 4 4096 # runs past the section
  run "$LPDIFF" --list "$BATS_TEST_TMPDIR/big.o"
  assert_failure 2
  assert_output --partial "bad record size"
  cp "$BATS_TEST_TMPDIR/s.o" "$BATS_TEST_TMPDIR/short.o"
  corrupt "$BATS_TEST_TMPDIR/short.o" 4 16 # shorter than a function record
  run "$LPDIFF" --list "$BATS_TEST_TMPDIR/short.o"
  assert_failure 2
  assert_output --partial "function record too short"
}

@test "unknown record kinds are skipped (forward compatibility)" {
  plugin_obj "$BATS_TEST_TMPDIR/s.o" "$SRC_DIR/sample.c"
  corrupt "$BATS_TEST_TMPDIR/s.o" 0 99
  run "$LPDIFF" --list "$BATS_TEST_TMPDIR/s.o"
  assert_success
  [[ ${#lines[@]} -eq 13 ]] # one of the 14 functions was turned into kind 99
}

@test "C++: COMDAT functions and their statics keep one record each after linking" {
  for f in comdat_a comdat_b; do
    g++ -fplugin="$LP_PLUGIN" -O2 -c "$SRC_DIR/$f.cc" -o "$BATS_TEST_TMPDIR/$f.o"
  done
  g++ -o "$BATS_TEST_TMPDIR/prog" "$BATS_TEST_TMPDIR/comdat_a.o" "$BATS_TEST_TMPDIR/comdat_b.o"
  run "$BATS_TEST_TMPDIR/prog"
  assert_success
  # each object has its own copy ...
  run "$LPDIFF" --list "$BATS_TEST_TMPDIR/comdat_a.o" "$BATS_TEST_TMPDIR/comdat_b.o"
  assert_line --regexp '^_Z5twicei	[0-9a-f]{32}	patchable$'
  [[ $(grep -c '^_Z5twicei	' <<<"$output") -eq 2 ]]
  # ... the linker keeps one body and, with it, one record
  run "$LPDIFF" --list -v "$BATS_TEST_TMPDIR/prog"
  assert_success
  [[ $(grep -c '^_Z5twicei	' <<<"$output") -eq 1 ]]
  [[ $(grep -c '^_Z4sum3IiET_S0_S0_S0_	' <<<"$output") -eq 1 ]]
  [[ -z $(cut -f1 <<<"$output" | sort | uniq -d) ]]
  run "$LPDIFF" --list --statics "$BATS_TEST_TMPDIR/prog"
  assert_output "_ZN7Counter4nextEv::n	_ZZN7Counter4nextEvE1n"
}

@test "nowrite: writable tables only read through their address are recorded, written or escaping ones not" {
  for opt in -O0 -O2 -O3; do
    plugin_obj "$BATS_TEST_TMPDIR/n.o" "$SRC_DIR/nowrite.c" "$opt"
    run "$LPDIFF" --list --nowrite "$BATS_TEST_TMPDIR/n.o"
    assert_success
    # holder is itself never written (it only holds in_initializer's address)
    assert_equal "$output" "$(printf '%s\n' holder never_written_int read_indexed read_only_loop)"
  done
  # the records survive linking into a shared library
  plugin_obj "$BATS_TEST_TMPDIR/n.o" "$SRC_DIR/nowrite.c" -fPIC
  gcc -shared -o "$BATS_TEST_TMPDIR/n.so" "$BATS_TEST_TMPDIR/n.o"
  run "$LPDIFF" --list --nowrite "$BATS_TEST_TMPDIR/n.so"
  assert_success
  assert_line read_only_loop
  # an asm statement anywhere in the unit: nothing is proven
  plugin_obj "$BATS_TEST_TMPDIR/a.o" "$SRC_DIR/nowrite.c" -DWITH_ASM
  run "$LPDIFF" --list --nowrite "$BATS_TEST_TMPDIR/a.o"
  assert_success
  assert_output ""
}

# anon_src FILE: usage() with an automatic array of 40 strings (copied from
# an unnamed initializer template) and scale() with a double constant.
anon_src() {
  {
    echo '#include <stdio.h>'
    echo 'void usage(unsigned step) { const char *help[] = {'
    for i in $(seq 1 40); do echo "  \"option $i\","; done
    echo '}; for (unsigned i = 0; i < 40; i += step) puts(help[i]); }'
    echo 'double scale(double x) { return x * 3.25; }'
  } >"$1"
}

# sec_index OBJ NAME: section header index of section NAME.
sec_index() {
  readelf -SW "$1" | sed -n "s/^ *\[ *\([0-9]*\)\] $2 .*/\1/p"
}

@test "anons: initializer templates, their strings and pool constants are recorded with their extent" {
  anon_src "$BATS_TEST_TMPDIR/a.c"
  # PIC: the template (40 pointers) is in writable .data, its strings in .rodata.*
  plugin_obj "$BATS_TEST_TMPDIR/pie.o" "$BATS_TEST_TMPDIR/a.c" -fPIE
  run "$LPDIFF" --list --anons "$BATS_TEST_TMPDIR/pie.o"
  assert_success
  assert_line "usage	$(sec_index "$BATS_TEST_TMPDIR/pie.o" .data)	0x0	320"
  [[ $(grep -c $'^usage\t' <<<"$output") == 41 ]]       # the template and its 40 strings
  assert_line --regexp $'^usage\t[0-9]+\t0x[0-9a-f]+\t10$' # "option 10" and its NUL
  # -O0 non-PIC: template, strings and the double all in plain .rodata
  plugin_obj "$BATS_TEST_TMPDIR/o0.o" "$BATS_TEST_TMPDIR/a.c" -O0 -fno-PIE
  run "$LPDIFF" --list --anons "$BATS_TEST_TMPDIR/o0.o"
  assert_success
  local ro
  ro=$(sec_index "$BATS_TEST_TMPDIR/o0.o" .rodata)
  assert_line --regexp "^usage	$ro	0x[0-9a-f]+	320\$"
  assert_line --regexp "^scale	$ro	0x[0-9a-f]+	8\$"
}
