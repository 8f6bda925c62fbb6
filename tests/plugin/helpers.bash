# Helpers for the plugin suites: compile with the plugin, list hashes,
# compare two lists function by function.

SRC_DIR="$LP_TOP/tests/plugin/src"

# plugin_obj OUT SRC [gcc flags...]: compile SRC to OUT with the plugin,
# from SRC's directory by its base name, so that __FILE__ is the same for
# copies of one file in different directories.
plugin_obj() {
  local out=$1 src=$2; shift 2
  [[ $out == /* ]] || out=$PWD/$out
  (cd "$(dirname "$src")" && gcc -fplugin="$LP_PLUGIN" -O2 "$@" -c "$(basename "$src")" -o "$out")
}

# hashes OBJ: the `lpdiff --list` output of OBJ.
hashes() {
  "$LPDIFF" --list "$1"
}

# changed_functions A B: names whose hash differs, or that are only in one
# of the two lists, one per line, sorted.
changed_functions() {
  join -t $'\t' -a1 -a2 -e MISSING -o 0,1.2,2.2 <(hashes "$1" | cut -f1,2) \
    <(hashes "$2" | cut -f1,2) | awk -F'\t' '$2 != $3 { print $1 }' | sort
}

# variant NAME SED-SCRIPT: a copy of sample.c edited by sed, path on stdout.
variant() {
  mkdir -p "$BATS_TEST_TMPDIR/$1"
  local out="$BATS_TEST_TMPDIR/$1/sample.c"
  sed -e "$2" "$SRC_DIR/sample.c" >"$out"
  if cmp -s "$out" "$SRC_DIR/sample.c"; then
    echo "variant $1: sed script changed nothing" >&2
    return 1
  fi
  echo "$out"
}

# expect_change NAME SED-SCRIPT EXPECTED...: compile sample.c and the edited
# copy and check that exactly the EXPECTED functions changed hash.
expect_change() {
  local name=$1 script=$2; shift 2
  local src
  src=$(variant "$name" "$script") || return 1
  plugin_obj "$BATS_TEST_TMPDIR/base.o" "$SRC_DIR/sample.c"
  plugin_obj "$BATS_TEST_TMPDIR/$name.o" "$src"
  run changed_functions "$BATS_TEST_TMPDIR/base.o" "$BATS_TEST_TMPDIR/$name.o"
  assert_success
  assert_output "$(printf '%s\n' "$@" | sort)"
}
