#!/usr/bin/env bats
# Every differ case at every optimisation level, PIE and non-PIE: a change
# that lpdiff applies at -O2 must be applied at every level (no false
# refusal that only -O0 or -Os provokes), and a real state change must be
# refused with the same code everywhere.  Each case states its outcome in
# cases/NAME/expect: "applied", "nochange" or "refused CODE", and on a
# second line the mode ("shared") when it is a library.  Live cases (see
# live-main.c) are also applied to their running OLD build at each level.
load helpers

# check_level OPT PIE: every case at -OPT; fail listing each case whose
# outcome is not its expect file's.
check_level() {
  local opt=$1 pie=$2 c want mode got bad=() n=0
  export CASE_OPT=-$opt
  for c in "$CASES"/*/; do
    c=$(basename "$c")
    [[ -f $CASES/$c/expect ]] || fail "case $c has no expect file"
    { read -r want; read -r mode || mode=$pie; } <"$CASES/$c/expect"
    [[ $mode == shared && $pie == nopie ]] && continue # PIC either way
    n=$((n + 1))
    diff_case "$c" "$mode"
    case $status in
      0) got=applied ;;
      1) got=nochange ;;
      3) got="refused $(grep -o 'refused \[[A-Z_]*\]' <<<"$output" | sort -u | tr -d '[]' |
            sed 's/^refused //' | paste -sd,)" ;;
      *) got="exit $status: $(head -1 <<<"$output")" ;;
    esac
    if [[ $got != "$want" ]]; then
      bad+=("$c: $got, expected $want ($(grep -m1 refused <<<"$output"))")
      continue
    fi
    if [[ $got == applied && $mode != shared ]] && ! grep -qs '\<main *(' "$CASES/$c"/old/*.c*; then
      (live_check) || bad+=("$c: the patch did not switch the running OLD build to NEW's output")
    fi
  done
  ((n > 20)) || fail "only $n cases ran"
  ((${#bad[@]} == 0)) || fail "$(printf -- '-%s %s: %s\n' "$opt" "$pie" "${bad[@]}")"
}

@test "-O0 PIE: every case as expected" { check_level O0 pie; }
@test "-O0 non-PIE: every case as expected" { check_level O0 nopie; }
@test "-O1 PIE: every case as expected" { check_level O1 pie; }
@test "-O1 non-PIE: every case as expected" { check_level O1 nopie; }
@test "-O2 PIE: every case as expected" { check_level O2 pie; }
@test "-O2 non-PIE: every case as expected" { check_level O2 nopie; }
@test "-O3 PIE: every case as expected" { check_level O3 pie; }
@test "-O3 non-PIE: every case as expected" { check_level O3 nopie; }
@test "-Os PIE: every case as expected" { check_level Os pie; }
@test "-Os non-PIE: every case as expected" { check_level Os nopie; }
@test "-Og PIE: every case as expected" { check_level Og pie; }
@test "-Og non-PIE: every case as expected" { check_level Og nopie; }
