#!/usr/bin/env bats
# What a patch makes lpatch write stays inside the functions it names: a
# resealed patch (edited, checksum recomputed, so it passes the format
# check) that claims another pad, no code hash, an address outside the
# module or of a function the plugin did not instrument is refused in one
# line naming the function, and the target is untouched.  A target under
# seccomp is refused before anything is injected; a patch "file" that is a
# FIFO is refused, not waited on.
load helpers

setup_file() {
  build_mkpatch
  target loop loop.c -DDECOY
  target sandboxed loop.c -DSECCOMP_MMAP
  mkpatch "$BATS_FILE_TMPDIR/p1.lpatch" "$BATS_FILE_TMPDIR/loop" "compute=$COMPUTE_1001"
  mkpatch "$BATS_FILE_TMPDIR/sandboxed.lpatch" "$BATS_FILE_TMPDIR/sandboxed" \
    "compute=$COMPUTE_1001"
}

teardown() { stop_all; }

start_loop() {
  ST=$BATS_TEST_TMPDIR/st
  start "$BATS_FILE_TMPDIR/${1:-loop}" 2 "$ST"
  wait_until grep -q 'calls=[1-9]' "$ST"
}

# Hex of LEN bytes of process PID's memory at ADDR.
mem_hex() {
  dd if="/proc/$1/mem" bs=4096 skip="$(($2))" count="$3" iflag=skip_bytes,count_bytes \
    status=none | od -An -tx1 | tr -d ' \n'
}

# Load bias of the module FILE in process PID: its first mapping's start
# minus the vaddr of its first PT_LOAD (0 for a position-independent file).
bias_of() {
  local file start vaddr
  file=$(readlink -f "$2")
  start=$(awk -v f="$file" '$6 == f && $3 == "00000000" {print $1; exit}' "/proc/$1/maps")
  vaddr=$(readelf -lW "$file" | awk '$1 == "LOAD" {print $3; exit}')
  echo $((0x${start%%-*} - vaddr))
}

# Runtime address of symbol SYM of the module FILE in process PID.
addr_of() { # PID FILE SYM
  local v
  v=$(nm "$2" | awk -v s="$3" '$3 == s {print $1; exit}')
  echo $(($(bias_of "$1" "$2") + 0x$v))
}

# The target still runs the old code, and nothing is recorded.
untouched() {
  grows "$ST" old
  [[ $(field "$ST" new1) == 0 && $(field "$ST" bad) == 0 ]]
  run "$LPATCH" list "$TPID"
  assert_output --partial "0 patches"
}

@test "a pad size the module's records do not give is refused, the bytes before the function untouched" {
  start_loop
  mkpatch --prepad 100 "$BATS_FILE_TMPDIR/pad100.lpatch" "$BATS_FILE_TMPDIR/loop" \
    "compute=$COMPUTE_1001"
  local a before
  a=$(addr_of "$TPID" "$BATS_FILE_TMPDIR/loop" compute)
  before=$(mem_hex "$TPID" $((a - 100)) 102)
  run "$LPATCH" apply "$TPID" "$BATS_FILE_TMPDIR/pad100.lpatch"
  assert_failure 1
  assert_output --regexp "compute.*pad of 100 bytes.*16"
  [[ ${#lines[@]} == 1 ]]
  [[ $(mem_hex "$TPID" $((a - 100)) 102) == "$before" ]]
  untouched
}

@test "a patch without a code hash (0) is refused, not checked less" {
  start_loop
  mkpatch --code-hash 0 "$BATS_FILE_TMPDIR/nohash.lpatch" "$BATS_FILE_TMPDIR/loop" \
    "compute=$COMPUTE_1001"
  run "$LPATCH" apply "$TPID" "$BATS_FILE_TMPDIR/nohash.lpatch"
  assert_failure 1
  assert_output --regexp "compute.*no hash of its old code"
  [[ ${#lines[@]} == 1 ]]
  untouched
  run "$LPATCH" check "$TPID" "$BATS_FILE_TMPDIR/nohash.lpatch"
  assert_failure 1
}

@test "an old address of a function the plugin did not instrument is refused, even with its code hash" {
  start_loop
  # decoy looks instrumented (pad, 66 90) and the hash is of its own bytes
  mkpatch --old-addr-of decoy "$BATS_FILE_TMPDIR/decoy.lpatch" "$BATS_FILE_TMPDIR/loop" \
    "compute=$COMPUTE_1001"
  local a before
  a=$(addr_of "$TPID" "$BATS_FILE_TMPDIR/loop" decoy)
  before=$(mem_hex "$TPID" $((a - 16)) 18)
  run "$LPATCH" apply "$TPID" "$BATS_FILE_TMPDIR/decoy.lpatch"
  assert_failure 1
  assert_output --regexp "compute.*no instrumented function"
  [[ ${#lines[@]} == 1 ]]
  [[ $(mem_hex "$TPID" $((a - 16)) 18) == "$before" ]]
  untouched
}

@test "an old address in another module (libc) is refused, libc untouched" {
  start_loop
  local libc lbias nop bias a before
  libc=$(awk '$6 ~ /\/libc\.so/ {print $6; exit}' "/proc/$TPID/maps")
  [[ -n $libc ]]
  # a 2-byte NOP (66 90) in libc's code, where the entry check finds one
  nop=$(objdump -d "$libc" | awk '$2 == "66" && $3 == "90" && NF == 5 {sub(":", "", $1); print $1; exit}')
  [[ -n $nop ]]
  lbias=$(bias_of "$TPID" "$libc")
  a=$((lbias + 0x$nop))
  bias=$(bias_of "$TPID" "$BATS_FILE_TMPDIR/loop")
  mkpatch --old-addr "$(printf %x $((a - bias)))" --code-hash 0 \
    "$BATS_FILE_TMPDIR/libc.lpatch" "$BATS_FILE_TMPDIR/loop" "compute=$COMPUTE_1001"
  before=$(mem_hex "$TPID" $((a - 16)) 18)
  run "$LPATCH" apply "$TPID" "$BATS_FILE_TMPDIR/libc.lpatch"
  assert_failure 1
  assert_output --regexp "compute.*no instrumented function"
  [[ ${#lines[@]} == 1 ]]
  [[ $(mem_hex "$TPID" $((a - 16)) 18) == "$before" ]]
  untouched
}

@test "the unforged patch still applies to the same target (the checks refuse only forgeries)" {
  start_loop
  run "$LPATCH" apply "$TPID" "$BATS_FILE_TMPDIR/p1.lpatch"
  assert_success
  grows "$ST" new1
  run "$LPATCH" revert "$TPID"
  assert_success
}

@test "a target under a seccomp filter is refused before any remote system call, and lives" {
  start_loop sandboxed
  grep -q '^Seccomp:[[:space:]]*2' "/proc/$TPID/status"
  local maps
  maps=$(maps_of "$TPID")
  run "$LPATCH" apply "$TPID" "$BATS_FILE_TMPDIR/sandboxed.lpatch"
  assert_failure 1
  assert_output --regexp "process $TPID: thread [0-9]+ runs under seccomp \(filter mode\)"
  [[ ${#lines[@]} == 1 ]]
  [[ $(maps_of "$TPID") == "$maps" ]]
  untouched
  run "$LPATCH" check "$TPID" "$BATS_FILE_TMPDIR/sandboxed.lpatch"
  assert_failure 1
  assert_output --regexp "not applicable: .*seccomp"
}

@test "a FIFO given as the patch is refused at once, for info and apply" {
  start_loop
  mkfifo "$BATS_TEST_TMPDIR/fifo"
  run timeout 10 "$LPATCH" info "$BATS_TEST_TMPDIR/fifo"
  assert_failure 2
  assert_output --regexp "fifo.*not a regular file"
  [[ ${#lines[@]} == 1 ]]
  run timeout 10 "$LPATCH" apply "$TPID" "$BATS_TEST_TMPDIR/fifo"
  assert_failure 2
  assert_output --regexp "fifo.*not a regular file"
  untouched
}
