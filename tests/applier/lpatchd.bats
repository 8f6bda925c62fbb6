#!/usr/bin/env bats
# lpatchd: a running daemon patches each new process that maps a module
# with installed patches (within the window docs/lpatchd.md gives, and with
# --hold before it runs its program), every process when a patch is
# installed while it runs, processes it missed while it was down, and goes
# on when a target dies mid-apply; a forked child keeps its parent's
# patches; unsigned patches are refused when keys are configured.
#
# lpatchd sees every process on the host: the targets here carry a build-id
# of this file's own (a tag compiled in), so only they match the registry.
load helpers

: "${LPATCHD:=${LPATCH%/*}/lpatchd}"

# docs/lpatchd.md, "The window": a new process is patched within this many
# ms of its exec without --hold (the last delay of lpatchd's checks).
WINDOW_MS=1000

setup_file() {
  build_mkpatch
  local d=$BATS_FILE_TMPDIR
  printf 'const char lpatchd_tag[] __attribute__((used)) = "%s %s";\n' "$d" "$$" >"$d/tag.c"
  target loop loop.c "$d/tag.c"
  target forker forker.c "$d/tag.c"
  lp_cc "$d/libcompute.so" "$APPLIER_SRC/targets/libcompute.c" "$d/tag.c" \
    -I"$APPLIER_SRC/targets" -fPIC -shared
  target loop-shared loop.c -DEXTERN_COMPUTE -L"$d" -lcompute -Wl,-rpath,"$d"
  mkpatch "$d/a.lpatch" "$d/loop" "compute=$COMPUTE_1001"
  mkpatch "$d/f.lpatch" "$d/forker" "compute=$COMPUTE_1001"
  mkpatch "$d/lib.lpatch" "$d/libcompute.so" "compute=$COMPUTE_1001"
  "$LPATCH" keygen --out "$d" ops >/dev/null
}

setup() {
  export LIVEPATCH_REGISTRY=$BATS_TEST_TMPDIR/reg
  export LIVEPATCH_KEYS_DIR=$BATS_TEST_TMPDIR/keys # none: signatures not required
  D=$BATS_FILE_TMPDIR
  LOG=$BATS_TEST_TMPDIR/lpatchd.log
}

teardown() {
  stop_daemon
  stop_all
}

# start_daemon [ENV=V...] [-- options]: lpatchd in the background, logging
# to $LOG, its pid in $DPID; returns once its first pass is done.
start_daemon() {
  local envs=()
  while [[ $# -gt 0 && $1 != -- ]]; do envs+=("$1"); shift; done
  [[ ${1:-} == -- ]] && shift
  : >>"$LOG"
  local before
  before=$(grep -c 'pass (start)' "$LOG" || true)
  # shellcheck disable=SC2086 # WRAP: a command and its words
  env "${envs[@]}" ${WRAP:-} "$LPATCHD" --foreground "$@" >>"$LOG" 2>&1 &
  DPID=$!
  echo "$DPID" >>"$BATS_TEST_TMPDIR/daemons"
  wait_until _started "$before"
}
_started() { (($(grep -c 'pass (start)' "$LOG" || true) > $1)); }

stop_daemon() {
  local p
  [[ -f $BATS_TEST_TMPDIR/daemons ]] || return 0
  while read -r p; do kill -TERM "$p" 2>/dev/null; done <"$BATS_TEST_TMPDIR/daemons"
  while read -r p; do
    wait_until _gone "$p" || kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null || true
  done <"$BATS_TEST_TMPDIR/daemons"
  rm -f "$BATS_TEST_TMPDIR/daemons"
}
_gone() { ! kill -0 "$1" 2>/dev/null; }

# start_loop VAR [PROG]: a loop process (of PROG, default loop), its pid in
# VAR and its status file in VAR_ST, once it has written one.
start_loop() {
  start "$D/${2:-loop}" 1 "$BATS_TEST_TMPDIR/$1.st"
  wait_until test -s "$BATS_TEST_TMPDIR/$1.st"
  printf -v "$1" %s "$TPID"
  printf -v "${1}_ST" %s "$BATS_TEST_TMPDIR/$1.st"
}

# The ids of the patches applied in process PID.
applied() { "$LPATCH" list --json "$1" | jq -r '[.patches[].id] | join(" ")'; }
id_of() { "$LPATCH" info --json "$1" | jq -r .id; }

# The ms lpatchd logged between the exec of PID and its patch.
window_of() {
  sed -n "s/^lpatchd: process $1: patched \([0-9.]*\) ms after its exec.*/\1/p" "$LOG" | head -1
}

@test "a service started after the install is patched within the window; every reply checked" {
  start_daemon
  run "$LPATCH" install "$D/a.lpatch"
  assert_success
  wait_until grep -q "^lpatchd: pass (registry changed)" "$LOG"
  start_loop P1
  wait_until grep -q "^lpatchd: process $P1: patched" "$LOG" || { cat "$LOG" >&3; false; }
  grows "$P1_ST" new1
  [[ $(field "$P1_ST" bad) == 0 ]] # the loop checks every call's result
  [[ $(applied "$P1") == "$(id_of "$D/a.lpatch")" ]]
  grep -qx "process $P1 (loop): applied .*" "$LOG"
  local w
  w=$(window_of "$P1")
  echo "window: $w ms, calls of the old code: $(field "$P1_ST" old)" >&3
  awk -v w="$w" -v max="$WINDOW_MS" 'BEGIN { exit !(w > 0 && w < max) }'
  grep -q "^lpatchd: watching process events" "$LOG" # the connector, not polling
}

@test "--poll: without process events, a new process is patched at the next poll" {
  start_daemon -- --poll --poll-ms 20
  grep -q "^lpatchd: polling /proc every 20 ms (--poll)" "$LOG"
  "$LPATCH" install "$D/a.lpatch" >/dev/null
  wait_until grep -q "^lpatchd: pass (registry changed)" "$LOG"
  start_loop P1
  wait_until grep -q "^lpatchd: process $P1: patched" "$LOG" || { cat "$LOG" >&3; false; }
  grows "$P1_ST" new1
  [[ $(field "$P1_ST" bad) == 0 ]]
}

@test "no process events (another network namespace): it says why and polls /proc" {
  WRAP="unshare -n" start_daemon
  grep -Eq "^lpatchd: process events: .*: polling /proc every 100 ms instead$" "$LOG"
  grep -q "^lpatchd: watching /proc," "$LOG"
  "$LPATCH" install "$D/a.lpatch" >/dev/null
  wait_until grep -q "^lpatchd: pass (registry changed)" "$LOG"
  start_loop P1
  wait_until grep -q "^lpatchd: process $P1: patched" "$LOG"
  grows "$P1_ST" new1
}

# held PROG: start processes of PROG until lpatchd holds one (at most 5: a
# process lpatchd's exec event reaches after it left its loader is not held
# and says so; docs/lpatchd.md, "The window"), its pid in HELD and status
# file in HELD_ST.
held() {
  local i
  for ((i = 0; i < 5; i++)); do
    start_loop "H${1//-/_}$i" "$1" # a status file of its own
    HELD=$TPID
    HELD_ST=$BATS_TEST_TMPDIR/H${1//-/_}$i.st
    wait_until grep -Eq "^lpatchd: process $HELD: (released after|not held)" "$LOG"
    grep -q "^lpatchd: process $HELD: released after" "$LOG" && return 0
    grep "^lpatchd: process $HELD: not held" "$LOG" >&3
  done
  return 1
}

@test "--hold: a held new process never runs the old code (program and library)" {
  "$LPATCH" install "$D/a.lpatch" "$D/lib.lpatch" >/dev/null
  start_daemon -- --hold
  local prog
  for prog in loop loop-shared; do
    held "$prog"
    grep -q "^lpatchd: process $HELD: patched .*held at its entry point" "$LOG"
    grep "^lpatchd: process $HELD: held at its entry point" "$LOG" >&3
    # its first status already counts new calls only
    [[ $(field "$HELD_ST" old) == 0 && $(field "$HELD_ST" bad) == 0 ]]
    grows "$HELD_ST" new1
    [[ $(field "$HELD_ST" old) == 0 ]]
  done
}

@test "--hold: lpatchd killed while it holds a process: the next one lets it go and patches it" {
  "$LPATCH" install "$D/a.lpatch" >/dev/null
  # lpatch's test hook: lpatchd SIGKILLed at the first step of its first apply
  start_daemon LPATCH_TEST_KILL_AT=1 -- --hold
  start "$D/loop" 1 "$BATS_TEST_TMPDIR/p1.st"
  local P1=$TPID
  wait_until _gone "$DPID"
  grep -q "^lpatchd: process $P1: held at its entry point" "$LOG"
  [[ $(awk '{ print $3 }' "/proc/$P1/stat") == T && ! -e $BATS_TEST_TMPDIR/p1.st ]]
  start_daemon -- --hold
  grep -q "^process $P1 (loop): applied" "$LOG" # before it runs on
  grep -q "^lpatchd: process $P1: released (held by an earlier lpatchd, which stopped): 1 applied" "$LOG"
  wait_until test -s "$BATS_TEST_TMPDIR/p1.st"
  grows "$BATS_TEST_TMPDIR/p1.st" new1
  [[ $(field "$BATS_TEST_TMPDIR/p1.st" old) == 0 && $(field "$BATS_TEST_TMPDIR/p1.st" bad) == 0 ]]
  [[ ! -e $LIVEPATCH_REGISTRY/.lpatchd-held ]]
}

@test "a forked child keeps its parent's patches (no lpatchd involved)" {
  start "$D/forker" "$BATS_TEST_TMPDIR/f.st"
  local F=$TPID
  wait_until test -s "$BATS_TEST_TMPDIR/f.st"
  run "$LPATCH" apply "$F" "$D/f.lpatch"
  assert_success
  grows "$BATS_TEST_TMPDIR/f.st" new1
  kill -USR1 "$F"
  wait_until test -s "$BATS_TEST_TMPDIR/f.st.child"
  local child
  child=$(pgrep -P "$F")
  echo "$child" >>"$BATS_TEST_TMPDIR/pids"
  grows "$BATS_TEST_TMPDIR/f.st.child" new1
  [[ $(field "$BATS_TEST_TMPDIR/f.st.child" old) == 0 ]]
  [[ $(field "$BATS_TEST_TMPDIR/f.st.child" bad) == 0 ]]
  [[ $(applied "$child") == "$(id_of "$D/f.lpatch")" ]]
}

@test "restart: no double apply, and processes started while it was down get patched" {
  "$LPATCH" install "$D/a.lpatch" >/dev/null
  start_daemon
  start_loop P1
  wait_until grep -q "^lpatchd: process $P1: patched" "$LOG" || { cat "$LOG" >&3; false; }
  kill -9 "$DPID" # not even a clean stop
  wait "$DPID" 2>/dev/null || true
  start_loop P2
  grows "$P2_ST" old # nobody patches it meanwhile
  : >"$LOG"
  start_daemon
  grep -q "^process $P2 (loop): applied" "$LOG"
  run grep -q "process $P1 " "$LOG"
  assert_failure
  grep -q "^lpatchd: pass (start): 2 processes with installed patches: 1 applied" "$LOG"
  local a
  a=$(id_of "$D/a.lpatch")
  [[ $(applied "$P1") == "$a" && $(applied "$P2") == "$a" ]]
  grows "$P2_ST" new1
  [[ $(field "$P1_ST" bad) == 0 && $(field "$P2_ST" bad) == 0 ]]
}

@test "patches installed, then removed, while it runs reach the running processes" {
  start_daemon
  start_loop P1
  grows "$P1_ST" old
  "$LPATCH" install "$D/a.lpatch" >/dev/null
  wait_until grep -q "^process $P1 (loop): applied" "$LOG"
  wait_until grep -q "^lpatchd: pass (registry changed): 1 process with installed patches: 1 applied" "$LOG"
  grows "$P1_ST" new1
  "$LPATCH" remove "$(id_of "$D/a.lpatch")" >/dev/null
  wait_until grep -q "^process $P1 (loop): reverted" "$LOG"
  grows "$P1_ST" old
  [[ $(applied "$P1") == "" && $(field "$P1_ST" bad) == 0 ]]
}

@test "a target killed mid-apply does not stop lpatchd" {
  "$LPATCH" install "$D/a.lpatch" >/dev/null
  # lpatch's test hook: the target is SIGKILLed at the 3rd step of lpatchd's first apply
  start_daemon LPATCH_TEST_KILL_TARGET_AT=3
  "$D/loop" 1 "$BATS_TEST_TMPDIR/p1.st" >/dev/null 2>&1 & # killed at once: no start
  local P1=$!
  echo "$P1" >>"$BATS_TEST_TMPDIR/pids"
  wait_until grep -q "^process $P1 (loop): exited meanwhile (not a failure)" "$LOG"
  wait_until _gone "$P1"
  kill -0 "$DPID"
  start_loop P2
  wait_until grep -q "^lpatchd: process $P2: patched" "$LOG"
  grows "$P2_ST" new1
}

@test "with keys configured, an unsigned patch and one signed by an unknown key are refused and logged, naming the file and why" {
  "$LPATCH" install "$D/a.lpatch" >/dev/null # no keys yet: accepted
  mkdir -p "$LIVEPATCH_KEYS_DIR"
  cp "$D/ops.pub" "$LIVEPATCH_KEYS_DIR/"
  start_daemon
  start_loop P1
  local a f
  a=$(id_of "$D/a.lpatch")
  f=$(ls "$LIVEPATCH_REGISTRY"/*/"$a.lpatch")
  wait_until grep -qF "lpatchd: auto: process $P1 (loop): $f: refused: unsigned (no .sig; $LIVEPATCH_KEYS_DIR requires signatures)" "$LOG"
  grows "$P1_ST" old
  [[ $(field "$P1_ST" new1) == 0 && $(applied "$P1") == "" ]]
  # signed, but by a key that is not in the keys directory
  "$LPATCH" keygen --out "$BATS_TEST_TMPDIR" other >/dev/null
  "$LPATCH" sign --key "$BATS_TEST_TMPDIR/other.sec" "$f" >/dev/null
  kill -HUP "$DPID" # a pass now
  wait_until grep -qF "lpatchd: auto: process $P1 (loop): $f: refused: signed by unknown key" "$LOG"
  [[ $(applied "$P1") == "" ]]
  kill -0 "$DPID"
}

@test "usage: --help, unknown options, bad numbers, operands; --once" {
  run "$LPATCHD" --help
  assert_success
  assert_line --partial "usage: lpatchd [options]"
  run "$LPATCHD" --bogus
  assert_failure 2
  assert_output "lpatchd: unknown option '--bogus' (lpatchd --help)"
  run "$LPATCHD" --poll-ms 0
  assert_failure 2
  assert_output "lpatchd: --poll-ms: not a number of milliseconds (1..86400000): '0'"
  run "$LPATCHD" extra
  assert_failure 2
  assert_output "lpatchd: takes no operands: 'extra' (lpatchd --help)"
  "$LPATCH" install "$D/a.lpatch" >/dev/null
  start_loop P1
  run "$LPATCHD" --once
  assert_success
  assert_line "process $P1 (loop): applied $(id_of "$D/a.lpatch" | cut -c1-12) ($(ls "$LIVEPATCH_REGISTRY"/*/*.lpatch))"
  assert_line --partial "lpatchd: pass (--once): 1 process with installed patches: 1 applied"
  grows "$P1_ST" new1
}
