# Helpers for the differ suite: build a pair of tiny source trees (OLD and
# NEW) the way make would, run lpdiff on them, and look at the result.
load ../lib/common

CASES=$BATS_TEST_DIRNAME/cases

# build_tree SRC OUT MODE: compile every SRC/**.c to OUT/**.o (from inside
# SRC, so unit names are the same relative paths in both trees) and link
# OUT/prog (or OUT/libt.so for MODE=shared).
#   MODE: pie (default) | nopie | shared | plain (no plugin, the plugin's
#   flags by hand) | noentry (no plugin, no patchable entries) | O1 (pie, -O1)
#   | nodebug (pie, no -g) | gc (pie, linked with --gc-sections)
build_tree() {
  local src=$1 out=$2 mode=${3:-pie}
  local -a cflags=(-g -O2) ldflags=(-pie) plugin=(-fplugin="$LP_PLUGIN")
  local module=prog
  # shellcheck disable=SC2054 # commas belong to GCC and linker options
  case $mode in
    pie) cflags+=(-fPIE) ;;
    O1) cflags=(-g -O1 -fPIE) ;;
    nodebug) cflags=(-O2 -fPIE) ;;
    gc) cflags+=(-fPIE); ldflags+=(-Wl,--gc-sections) ;;
    nopie) cflags+=(-fno-PIE); ldflags=(-no-pie) ;;
    shared) cflags+=(-fPIC); ldflags=(-shared); module=libt.so ;;
    plain) cflags+=(-fPIE -ffunction-sections -fdata-sections -fpatchable-function-entry=18,16)
           plugin=() ;;
    noentry) cflags+=(-fPIE -ffunction-sections -fdata-sections); plugin=() ;;
  esac
  mkdir -p "$out"
  local f objs=()
  while IFS= read -r f; do
    f=${f#./}
    mkdir -p "$out/$(dirname "$f")"
    (cd "$src" && gcc "${plugin[@]}" "${cflags[@]}" -c "$f" -o "$out/${f%.c}.o") || return 1
    objs+=("$out/${f%.c}.o")
  done < <(cd "$src" && find . -name '*.c' | sort)
  # A live case (its work in lp_probe(), no main) gets the shared driver.
  if [[ $module == prog ]] && ! grep -qs '\bmain *(' "$src"/*.c; then
    (cd "$BATS_TEST_DIRNAME" && gcc "${plugin[@]}" "${cflags[@]}" -c live-main.c \
      -o "$out/live-main.o") || return 1
    objs+=("$out/live-main.o")
  fi
  gcc "${ldflags[@]}" -o "$out/$module" "${objs[@]}"
}

# diff_case NAME [MODE] [lpdiff options...]: build cases/NAME/{old,new} into
# $T and run lpdiff; output in $output/$status (bats run), patch $T/p.lpatch,
# report $T/r.json.
diff_case() {
  local name=$1 mode=${2:-pie}
  shift 2 || shift $#
  T=$BATS_TEST_TMPDIR/$name-$mode
  MODULE=prog
  [[ $mode == shared ]] && MODULE=libt.so
  build_tree "$CASES/$name/old" "$T/old" "$mode"
  build_tree "$CASES/$name/new" "$T/new" "$mode"
  run "$LPDIFF" --old "$T/old" --new "$T/new" --module "$MODULE" -o "$T/p.lpatch" \
    --report "$T/r.json" "$@"
}

# json FILTER: jq on the report, compact output.
json() {
  jq -c "$1" "$T/r.json"
}

# old_local_addr FILE SYM: link-time address of local SYM of source FILE in
# the OLD module (readelf lists locals after their STT_FILE symbol).
old_local_addr() {
  readelf -sW "$T/old/$MODULE" | awk -v f="$1" -v s="$2" '
    $4 == "FILE" { cur = $8; next }
    cur == f && $8 == s && $5 == "LOCAL" { v = $2; sub(/^0+/, "", v); print "0x" v; exit }'
}

# old_global_addr SYM
old_global_addr() {
  readelf -sW "$T/old/$MODULE" | awk -v s="$1" '
    $8 == s && ($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" {
      v = $2; sub(/^0+/, "", v); print "0x" v; exit }'
}

# dump: lpdiff --dump of the patch into $output.
dump() {
  run "$LPDIFF" --dump "$T/p.lpatch"
}

# live_check: after a successful diff_case on a live case, run the OLD
# program, apply $T/p.lpatch to it while it runs, and assert that its
# output switches from OLD's to NEW's; revert and assert OLD's again.
# shellcheck disable=SC2154 # status and output: set by bats' run
live_check() {
  local want_old want_new got pid
  want_old=$("$T/old/prog" once)
  want_new=$("$T/new/prog" once)
  [[ $want_old != "$want_new" ]] || fail "OLD and NEW print the same: nothing to see"
  coproc LIVE { exec "$T/old/prog" loop; }
  pid=$LIVE_PID
  _live_read ready
  got=$(_live_probe) && [[ $got == "$want_old" ]] || { kill "$pid"; fail "OLD before apply printed: $got"; }
  run "$LPATCH" apply "$pid" "$T/p.lpatch"
  [[ $status == 0 ]] || { kill "$pid"; fail "lpatch apply failed ($status): $output"; }
  got=$(_live_probe)
  [[ $got == "$want_new" ]] || { kill "$pid"; fail "after apply printed: $got, NEW prints: $want_new"; }
  run "$LPATCH" revert "$pid"
  [[ $status == 0 ]] || { kill "$pid"; fail "lpatch revert failed ($status): $output"; }
  got=$(_live_probe)
  [[ $got == "$want_old" ]] || { kill "$pid"; fail "after revert printed: $got, OLD prints: $want_old"; }
  local wfd=${LIVE[1]}
  exec {wfd}>&- # end of input: the loop ends
  wait "$pid" || true
}

# _live_read WANT: next line from the live program must be WANT.
_live_read() {
  local line
  IFS= read -r -t 10 line <&"${LIVE[0]}" || fail "live program said nothing (wanted $1)"
  [[ $line == "$1" ]] || fail "live program said '$line', wanted '$1'"
}

# _live_probe: ask the live program once, print its answer (without "--").
_live_probe() {
  local line out=()
  echo >&"${LIVE[1]}"
  while IFS= read -r -t 10 line <&"${LIVE[0]}"; do
    [[ $line == -- ]] && { printf '%s\n' "${out[@]}"; return 0; }
    out+=("$line")
  done
  echo "(no answer)"
  return 1
}
