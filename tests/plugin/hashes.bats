#!/usr/bin/env bats
# Per-function hashes: stable under edits that do not change the code,
# sensitive to every edit that does, and only for the functions affected.
load ../lib/common
load helpers

setup() {
  [[ -f $LP_PLUGIN ]] || skip "plugin not built"
}

@test "every function of the sample is listed with a 32-hex hash" {
  plugin_obj "$BATS_TEST_TMPDIR/s.o" "$SRC_DIR/sample.c"
  run hashes "$BATS_TEST_TMPDIR/s.o"
  assert_success
  assert_line --regexp '^uses_helper	[0-9a-f]{32}	patchable$'
  assert_line --regexp '^checks	[0-9a-f]{32}	patchable$'
  # a static inline helper inlined everywhere has no body of its own
  refute_line --regexp '^helper	'
  [[ $(hashes "$BATS_TEST_TMPDIR/s.o" | wc -l) -eq 14 ]]
}

@test "stable: comment edits and whitespace leave every hash unchanged (-O0 -O2 -O3 -Os)" {
  src=$(variant comments 's|/\* STRING \*/|/* the greeting string, reworded comment */|; s/^    return/\treturn/; s/  *$//')
  for o in -O0 -O2 -O3 -Os; do
    plugin_obj "$BATS_TEST_TMPDIR/a.o" "$SRC_DIR/sample.c" "$o"
    plugin_obj "$BATS_TEST_TMPDIR/b.o" "$src" "$o"
    run changed_functions "$BATS_TEST_TMPDIR/a.o" "$BATS_TEST_TMPDIR/b.o"
    assert_success
    assert_output ""
  done
}

@test "stable: shifting every line changes only the function with assert's __LINE__" {
  expect_change shifted '1i /* three\n   new comment\n   lines */' checks
}

@test "stable: shifting lines with NDEBUG changes nothing" {
  src=$(variant shifted '1i /* three\n   new comment\n   lines */')
  plugin_obj "$BATS_TEST_TMPDIR/a.o" "$SRC_DIR/sample.c" -DNDEBUG
  plugin_obj "$BATS_TEST_TMPDIR/b.o" "$src" -DNDEBUG
  run changed_functions "$BATS_TEST_TMPDIR/a.o" "$BATS_TEST_TMPDIR/b.o"
  assert_success
  assert_output ""
}

@test "stable: reordering functions in the file" {
  plugin_obj "$BATS_TEST_TMPDIR/a.o" "$SRC_DIR/reorder_a.c"
  plugin_obj "$BATS_TEST_TMPDIR/b.o" "$SRC_DIR/reorder_b.c"
  run diff <(hashes "$BATS_TEST_TMPDIR/a.o") <(hashes "$BATS_TEST_TMPDIR/b.o")
  assert_success
}

@test "stable: -g and -g3 give the same hashes as no debug info (-O0 -O2 -O3 -Os)" {
  for o in -O0 -O2 -O3 -Os; do
    plugin_obj "$BATS_TEST_TMPDIR/a.o" "$SRC_DIR/sample.c" "$o"
    plugin_obj "$BATS_TEST_TMPDIR/g.o" "$SRC_DIR/sample.c" "$o" -g
    plugin_obj "$BATS_TEST_TMPDIR/g3.o" "$SRC_DIR/sample.c" "$o" -g3
    run diff <(hashes "$BATS_TEST_TMPDIR/a.o") <(hashes "$BATS_TEST_TMPDIR/g.o")
    assert_success
    run diff <(hashes "$BATS_TEST_TMPDIR/a.o") <(hashes "$BATS_TEST_TMPDIR/g3.o")
    assert_success
  done
}

@test "stable: the same source built in two directories (with -ffile-prefix-map)" {
  for d in one deeper/two; do
    mkdir -p "$BATS_TEST_TMPDIR/$d"
    cp "$SRC_DIR/sample.c" "$BATS_TEST_TMPDIR/$d/"
    (cd "$BATS_TEST_TMPDIR/$d" && gcc -fplugin="$LP_PLUGIN" -O2 -g -ffile-prefix-map="$PWD"=. \
      -c "$PWD/sample.c" -o sample.o)
  done
  run diff <(hashes "$BATS_TEST_TMPDIR/one/sample.o") <(hashes "$BATS_TEST_TMPDIR/deeper/two/sample.o")
  assert_success
  run diff <("$LPDIFF" --units "$BATS_TEST_TMPDIR/one/sample.o") \
    <("$LPDIFF" --units "$BATS_TEST_TMPDIR/deeper/two/sample.o")
  assert_success
}

@test "without -ffile-prefix-map the directory reaches assert's __FILE__" {
  for d in one two; do
    mkdir -p "$BATS_TEST_TMPDIR/$d"
    cp "$SRC_DIR/sample.c" "$BATS_TEST_TMPDIR/$d/"
    gcc -fplugin="$LP_PLUGIN" -O2 -c "$BATS_TEST_TMPDIR/$d/sample.c" -o "$BATS_TEST_TMPDIR/$d/sample.o"
  done
  run changed_functions "$BATS_TEST_TMPDIR/one/sample.o" "$BATS_TEST_TMPDIR/two/sample.o"
  assert_output checks
}

@test "sensitive: a string literal" {
  expect_change string 's/hello, world/hello, there/' greeting
}

@test "sensitive: an integer constant" {
  expect_change intconst 's/x \* 41 + 7/x * 43 + 7/' int_const
}

@test "sensitive: a float constant" {
  expect_change floatconst 's/d \* 1.25/d * 1.5/' float_const
}

@test "sensitive: a switch case" {
  expect_change case 's/case 3: return "three"/case 7: return "three"/' switch_case
}

@test "sensitive: a case's string in a switch table" {
  expect_change casestring 's/return "three"/return "drei"/' switch_case
}

@test "sensitive: an inlined static helper changes every caller" {
  expect_change helper 's/x \* 3 + 1; \/\* HELPER/x * 5 + 1; \/* HELPER/' uses_helper also_helper
}

@test "sensitive: the name of a callee" {
  expect_change callee 's/callee_a(); \/\* CALLEE/callee_b(); \/* CALLEE/' calls_callee
}

@test "sensitive: the name of a referenced global" {
  expect_change global 's/return counter_global; \/\* GLOBAL/return other_global; \/* GLOBAL/' reads_global
}

@test "sensitive: inline asm text" {
  expect_change asm 's/rol \$1, %0/ror $1, %0/' with_asm
}

@test "sensitive: __LINE__ inside assert" {
  expect_change assertline 's/^int checks(int v)$/\n&/' checks
}

@test "sensitive: a changed function changes nothing else" {
  expect_change untouched 's/v ^ 0x5a5a/v ^ 0x5a5b/' untouched
}
