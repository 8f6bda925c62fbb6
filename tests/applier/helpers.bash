# Shared set-up for the applier suites: build the targets and the patch
# generator, start/stop target processes, poll their status files.
load ../lib/common

APPLIER_SRC=$LP_TOP/tests/applier

# Patch bodies (x86-64 machine code) used across the suites.
# shellcheck disable=SC2034 # used by the suites that load this file
{
COMPUTE_1001='8d 87 e9 03 00 00 c3'   # lea 1001(%rdi),%eax; ret
COMPUTE_2001='8d 87 d1 07 00 00 c3'   # lea 2001(%rdi),%eax; ret
COMPUTE_3001='8d 87 b9 0b 00 00 c3'   # lea 3001(%rdi),%eax; ret
OTHER_107='8d 47 6b c3'               # lea 107(%rdi),%eax; ret
}

# mkpatch, built once per file against the runtime library.
build_mkpatch() {
  local lib=$LP_TOP/build/lib/liblivepatch.a
  [[ -f $lib ]] || lib=$LP_TOP/build/san/lib/liblivepatch.a
  gcc -D_GNU_SOURCE -I"$LP_TOP/build/include/runtime" -std=gnu11 -O1 -fsanitize=address,undefined \
    -o "$BATS_FILE_TMPDIR/mkpatch" "$APPLIER_SRC/mkpatch.c" "$lib" -lelf -lxxhash
}

mkpatch() { ASAN_OPTIONS=detect_leaks=0 "$BATS_FILE_TMPDIR/mkpatch" "$@"; }

# Build a target with the plugin: target NAME SRC [flags...] -> $BATS_FILE_TMPDIR/NAME
target() {
  local name=$1 src=$2; shift 2
  lp_cc "$BATS_FILE_TMPDIR/$name" "$APPLIER_SRC/targets/$src" -I"$APPLIER_SRC/targets" \
    -pthread "$@"
}

# Start a target in the background; its pid in $TPID (and in the kill list).
start() {
  "$@" >/dev/null 2>&1 &
  TPID=$!
  echo "$TPID" >>"$BATS_TEST_TMPDIR/pids"
  local prog=$1
  [[ $prog == nice ]] && prog=$4 # nice -n N PROG ...
  wait_until _execed "$TPID" "$prog"
}
_execed() { # the main thread may have exited already: ask any thread
  local want t
  want=$(readlink -f "$2")
  for t in "/proc/$1" "/proc/$1"/task/*; do
    [[ $(readlink "$t/exe" 2>/dev/null) == "$want" ]] && return 0
  done
  return 1
}

stop_all() {
  local p
  [[ -f $BATS_TEST_TMPDIR/pids ]] || return 0
  while read -r p; do kill -9 "$p" 2>/dev/null; done <"$BATS_TEST_TMPDIR/pids"
  while read -r p; do wait "$p" 2>/dev/null; done <"$BATS_TEST_TMPDIR/pids"
  rm -f "$BATS_TEST_TMPDIR/pids"
}

# Value of KEY in a status file of "k=v k=v" (0 if absent).
field() {
  local v
  v=$(grep -o "\b$2=[^ ]*" "$1" 2>/dev/null | head -1)
  echo "${v#*=}" | sed 's/^$/0/'
}

# wait_until CMD...: poll (up to 10 s) until CMD succeeds.
wait_until() {
  local i
  for ((i = 0; i < 1000; i++)); do
    "$@" && return 0
    sleep 0.01
  done
  echo "timed out waiting for: $*" >&2
  return 1
}

# A counter in a status file grows past its value now.
grows() { # FILE KEY
  local before
  before=$(field "$1" "$2")
  wait_until _above "$1" "$2" "$before"
}
_above() { (($(field "$1" "$2") > $3)); }

# Process state is not stopped/traced (t/T) and it still exists.
running() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && $st != t && $st != T ]]
}

# Maps of a process without the patch state and images: to show "untouched".
maps_of() { awk '{print $1, $2, $6}' "/proc/$1/maps"; }
