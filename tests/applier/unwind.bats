#!/usr/bin/env bats
# Patched code is first-class (docs/first-class.md): the target's own
# unwinders walk through patched frames (glibc's backtrace() through
# libgcc, a libunwind local walk), C++ exceptions pass through patched
# functions, perf names the patched function.  Targets in unwind/, built
# OLD (VERSION=1) and NEW (VERSION=2) with the plugin, patched with lpdiff.
load helpers

SRC=$APPLIER_SRC/unwind

# pair NAME SRC COMPILER [cflags...] -- [ldflags...]: $BATS_FILE_TMPDIR/NAME/{old,new}/PROG
# and NAME/p.lpatch
pair() {
  local name=$1 src=$2 cc=$3; shift 3
  local -a cflags=() ldflags=()
  while (($#)) && [[ $1 != -- ]]; do cflags+=("$1"); shift; done
  (($#)) && shift
  ldflags=("$@")
  local d=$BATS_FILE_TMPDIR/$name v prog=${src%.*}
  for v in 1 2; do
    local out=$d/old
    ((v == 2)) && out=$d/new
    mkdir -p "$out"
    (cd "$SRC" && $cc -fplugin="$LP_PLUGIN" -g -O2 -fPIE "${cflags[@]}" -DVERSION=$v \
      -c "$src" -o "$out/$prog.o") || return 1
    $cc -pie -o "$out/$prog" "$out/$prog.o" "${ldflags[@]}" || return 1
  done
  "$LPDIFF" --old "$d/old" --new "$d/new" --module "$prog" -o "$d/p.lpatch" >/dev/null
}

setup_file() {
  pair bt bt.c gcc -- -rdynamic
  pair unw bt.c gcc -DWITH_LIBUNWIND -- -rdynamic -lunwind
  pair exc exc.cc g++
}

teardown() { stop_all; }

# The frames the status file lists above the patched function.
frames() { field "$1" "$2"; }

# apply_and_back DIR PROG KEY: run DIR/old/PROG, check KEY (frames above the
# patched lp_work) starts with lp_caller,main while running v1, patched
# (v2) and reverted (v1 again).
walk_through() {
  local d=$BATS_FILE_TMPDIR/$1 key=$3 st=$BATS_TEST_TMPDIR/st
  start "$d/old/$2" "$st"
  wait_until test -s "$st"
  [[ $(frames "$st" "$key") == lp_caller,main,* ]]
  run "$LPATCH" apply "$TPID" "$d/p.lpatch"
  assert_success
  wait_until grep -q 'version=2' "$st"
  grows "$st" seq
  grows "$st" seq
  run frames "$st" "$key"
  [[ $output == lp_caller,main,* ]] || fail "after apply, $key=$output"
  run "$LPATCH" revert "$TPID"
  assert_success
  wait_until grep -q 'version=1' "$st"
  grows "$st" seq
  run frames "$st" "$key"
  [[ $output == lp_caller,main,* ]] || fail "after revert, $key=$output"
}

@test "lpdiff carries the FDEs of the replaced code, CIE personality and LSDA included" {
  run "$LPDIFF" --dump "$BATS_FILE_TMPDIR/bt/p.lpatch"
  assert_success
  assert_output --regexp 'unwind: [1-9][0-9]* FDEs'
  run "$LPDIFF" --dump "$BATS_FILE_TMPDIR/exc/p.lpatch"
  assert_success
  assert_output --regexp 'unwind: [1-9][0-9]* FDEs'
  assert_output --partial '.lp.rodata+'
  assert_output --regexp 'R_X86_64_PC32 -> module DW.ref.__gxx_personality_v0'
  assert_output --regexp 'R_X86_64_PC32 -> patch .gcc_except_table._Z10lp_throughi'
}

@test "backtrace() in a patched function sees its caller and main, applied and reverted" {
  walk_through bt bt bt
}

@test "a libunwind local walk from a patched function sees its caller and main" {
  walk_through unw bt unw
  walk_through unw bt bt # backtrace() there is libunwind's _Unwind_Backtrace
}

@test "control: the same patch left unregistered loses the frames above it" {
  local d=$BATS_FILE_TMPDIR/bt st=$BATS_TEST_TMPDIR/st
  start "$d/old/bt" "$st"
  wait_until test -s "$st"
  LPATCH_TEST_NO_UNWIND=1 run "$LPATCH" apply "$TPID" "$d/p.lpatch"
  assert_success
  wait_until grep -q 'version=2' "$st"
  grows "$st" seq
  run frames "$st" bt
  [[ $output != *lp_caller* ]] || fail "frames found without registration: $output"
}

@test "a C++ exception thrown in a patched function is caught by its unpatched caller" {
  local d=$BATS_FILE_TMPDIR/exc st=$BATS_TEST_TMPDIR/st
  start "$d/old/exc" "$st"
  wait_until test -s "$st"
  [[ $(field "$st" caught) == thrown-by-version-1 ]]
  run "$LPATCH" apply "$TPID" "$d/p.lpatch"
  assert_success
  wait_until grep -q 'caught=thrown-by-version-2' "$st"
  # ...and one from an unpatched callee passes through patched lp_through,
  # its destructor run on the way
  local before
  before=$(field "$st" destroyed)
  grows "$st" seq
  grows "$st" seq
  [[ $(field "$st" through) == 10 ]]
  (($(field "$st" destroyed) > before))
  run "$LPATCH" revert "$TPID"
  assert_success
  wait_until grep -q 'caught=thrown-by-version-1' "$st"
  grows "$st" seq
  kill -0 "$TPID"
}

@test "libgcc_s not loaded yet: apply warns, and says so" {
  # bt spins first; it calls backtrace() (which loads libgcc_s) only after
  # the patch is in when started with a trigger file that does not exist
  local d=$BATS_FILE_TMPDIR/bt st=$BATS_TEST_TMPDIR/st
  start "$d/old/bt" "$st" 0 "$BATS_TEST_TMPDIR/go"
  sleep 0.1
  run grep -c libgcc_s "/proc/$TPID/maps"
  assert_output 0
  run "$LPATCH" apply "$TPID" "$d/p.lpatch"
  assert_success
  assert_output --partial 'has not loaded libgcc_s'
  touch "$BATS_TEST_TMPDIR/go"
  wait_until grep -q 'version=2' "$st"
  grows "$st" seq
  grep -q libgcc_s "/proc/$TPID/maps"
  # the documented limit: libgcc loaded after the apply never learns of it
  run frames "$st" bt
  [[ $output != *lp_caller* ]] || fail "unexpected: $output"
  run "$LPATCH" revert "$TPID"
  assert_success
  kill -0 "$TPID"
}

@test "perf attributes samples to the patched function (perf map file)" {
  command -v perf >/dev/null || skip "perf is not installed (Debian linux-perf)"
  local d=$BATS_FILE_TMPDIR/bt st=$BATS_TEST_TMPDIR/st data=$BATS_TEST_TMPDIR/perf.data
  start "$d/old/bt" "$st" 3000000
  wait_until test -s "$st"
  run "$LPATCH" apply "$TPID" "$d/p.lpatch"
  assert_success
  grep -q ' lp_work$' "/tmp/perf-$TPID.map"
  if ! perf record -q -o "$data" -F 999 -p "$TPID" -- sleep 1 >/dev/null 2>&1; then
    skip "perf record is not allowed here (kernel.perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid))"
  fi
  run perf report -i "$data" --stdio --sort sym
  assert_success
  assert_output --regexp '\[\.\] lp_work'
  run "$LPATCH" revert "$TPID"
  assert_success
  [[ ! -e /tmp/perf-$TPID.map ]]
}

@test "lpatch's stack check walks through a patch image with its CFI instead of a raw scan" {
  local d=$BATS_FILE_TMPDIR/stack st=$BATS_TEST_TMPDIR/st v
  for v in "v1 1 7" "v2 2 7" "v3 2 8"; do
    read -r -a a <<<"$v"
    mkdir -p "$d/${a[0]}"
    (cd "$SRC" && gcc -fplugin="$LP_PLUGIN" -g -O2 -fPIE -DOUTER_K="${a[1]}" -DOTHER_K="${a[2]}" \
      -c stack.c -o "$d/${a[0]}/stack.o")
    gcc -pie -o "$d/${a[0]}/stack" "$d/${a[0]}/stack.o"
  done
  "$LPDIFF" --old "$d/v1" --new "$d/v2" --module stack -o "$d/12.lpatch" >/dev/null
  "$LPDIFF" --old "$d/v2" --new "$d/v3" --module stack -o "$d/23.lpatch" >/dev/null
  start "$d/v1/stack" "$st"
  wait_until test -s "$st"
  run "$LPATCH" apply --allow-active lp_outer "$TPID" "$d/12.lpatch"
  assert_success
  wait_until grep -q 'outer=2' "$st"
  # the thread sleeps under the patched lp_outer, whose frame holds an
  # address inside lp_other: a raw scan refuses, the CFI walk does not
  run "$LPATCH" apply --retries 3 "$TPID" "$d/23.lpatch"
  assert_success
  wait_until grep -q 'other=8' "$st"
  run "$LPATCH" revert "$TPID"
  assert_success
}
