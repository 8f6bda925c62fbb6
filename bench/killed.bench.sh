#!/usr/bin/env bash
# bench/killed.bench.sh - SIGKILL lpatch at random moments of apply and of
# revert, TRIALS times each (default 1000), on a target whose 8 threads call
# the patched function in a loop and check every result; print the outcome
# counts.  After every kill: the target must be alive, never have seen a
# wrong result, `lpatch list` must work, and `lpatch revert` must finish
# whatever the killed run left (and then the next trial's apply works).
#
#   TRIALS=N MAX_US=N LPATCH_BENCH=path bash bench/killed.bench.sh
#
# MAX_US: kills fall uniformly in [0, MAX_US) after lpatch starts (default:
# 1.5 x the median whole-apply time, measured first).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
out=$top/bench/out/killed
mkdir -p "$out"
: >"$out/log"
LPATCH=${LPATCH_BENCH:-$top/build/bin/lpatch}
TRIALS=${TRIALS:-1000}
THREADS=${THREADS:-8}
src=$top/tests/applier
gcc -O2 -o "$out/killafter" "$src/killafter.c"
gcc -D_GNU_SOURCE -I"$top/build/include/runtime" -std=gnu11 -O2 -o "$out/mkpatch" \
  "$src/mkpatch.c" "$top/build/lib/liblivepatch.a" -lelf -lxxhash
gcc -fplugin="$top/build/livepatch.so" -O2 -pthread -DCHURN -I"$src/targets" \
  -o "$out/churn" "$src/targets/loop.c"
"$out/mkpatch" "$out/p.lpatch" "$out/churn" "compute=8d 87 e9 03 00 00 c3"

st=$out/status
tpid=
start_target() {
  rm -f "$st"
  nice -n 10 "$out/churn" "$THREADS" "$st" >/dev/null 2>&1 &
  tpid=$!
  while [[ ! -s $st ]]; do sleep 0.01; done
}
cleanup() { [[ -n $tpid ]] && kill -9 "$tpid" 2>/dev/null; true; }
trap cleanup EXIT
alive() { [[ -d /proc/$tpid && $(awk '{print $3}' "/proc/$tpid/stat" 2>/dev/null) != Z ]]; }
bad() { grep -o 'bad=[0-9]*' "$st" | cut -d= -f2; }
npatches() { "$LPATCH" list --json "$tpid" 2>/dev/null | jq '.patches | length'; }
halfdone() { "$LPATCH" list --json "$tpid" 2>/dev/null | jq -e '[.patches[] | select(.status != "applied")] | length > 0' >/dev/null; }

start_target
if [[ -z ${MAX_US:-} ]]; then
  times=()
  for i in 1 2 3 4 5; do
    t0=$(date +%s%N)
    "$LPATCH" apply --timeout 5000 "$tpid" "$out/p.lpatch" >/dev/null
    times+=($((($(date +%s%N) - t0) / 1000)))
    "$LPATCH" revert --timeout 5000 "$tpid" >/dev/null
  done
  med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
  MAX_US=$((med * 3 / 2))
fi

declare -A n
for k in apply revert; do
  for o in killed ok failed died listfail unfinished fixed bad; do n[$k.$o]=0; done
  n[$k.signal]=
done
for ((i = 0; i < 2 * TRIALS; i++)); do
  op=apply
  ((i % 2)) && op=revert
  if [[ $op == revert ]] && [[ $(npatches) == 0 ]]; then # something to revert
    "$LPATCH" apply --timeout 5000 "$tpid" "$out/p.lpatch" >/dev/null 2>&1 || true
  fi
  if [[ $op == apply ]]; then
    r=$("$out/killafter" "$MAX_US" "$i" "$LPATCH" apply --timeout 5000 "$tpid" "$out/p.lpatch" 2>/dev/null)
  else
    r=$("$out/killafter" "$MAX_US" "$i" "$LPATCH" revert --timeout 5000 "$tpid" 2>/dev/null)
  fi
  case $r in
    killed*) n[$op.killed]=$((n[$op.killed] + 1)) ;;
    "exit 0 "*) n[$op.ok]=$((n[$op.ok] + 1)) ;;
    *)
      n[$op.failed]=$((n[$op.failed] + 1))
      echo "trial $i ($op, $r): lpatch failed" >>"$out/log"
      ;;
  esac
  sleep 0.002 # let a thread that would die of lpatch's death do so
  if ! alive; then
    n[$op.died]=$((n[$op.died] + 1))
    wait "$tpid" 2>/dev/null && code=0 || code=$?
    echo "trial $i ($op, $r): target died, status $code" >>"$out/log"
    n[$op.signal]="${n[$op.signal]} $((code - 128))"
    start_target
    continue
  fi
  np=$(npatches) || np=
  if [[ -z $np ]]; then
    n[$op.listfail]=$((n[$op.listfail] + 1))
    echo "trial $i ($op, $r): lpatch list failed" >>"$out/log"
  fi
  # a record left half-done ("applying"/"reverting") is finished by revert
  if halfdone; then
    if "$LPATCH" revert --timeout 5000 "$tpid" >/dev/null 2>&1; then
      n[$op.fixed]=$((n[$op.fixed] + 1))
    else
      n[$op.unfinished]=$((n[$op.unfinished] + 1))
      echo "trial $i ($op, $r): revert of a half-done record failed" >>"$out/log"
    fi
  fi
  if [[ $(bad) != 0 ]]; then
    n[$op.bad]=$((n[$op.bad] + 1))
    echo "trial $i ($op, $r): wrong results seen: $(cat "$st")" >>"$out/log"
    kill -9 "$tpid"
    wait "$tpid" 2>/dev/null || true
    start_target
  fi
done
for op in apply revert; do
  sig=${n[$op.signal]# }
  printf '| SIGKILL of lpatch %s, %d trials (kill within %d us): killed / completed | %d / %d | |\n' \
    "$op" "$TRIALS" "$MAX_US" "${n[$op.killed]}" "${n[$op.ok]}"
  printf '| ... lpatch not killed but failed | %d | 0 |\n' "${n[$op.failed]}"
  printf '| ... target died (signals: %s) | %d | 0 |\n' "${sig:-none}" "${n[$op.died]}"
  printf '| ... wrong result seen by the target | %d | 0 |\n' "${n[$op.bad]}"
  printf '| ... lpatch list failed afterwards | %d | 0 |\n' "${n[$op.listfail]}"
  printf '| ... half-done record finished by revert / not | %d / %d | all / 0 |\n' \
    "${n[$op.fixed]}" "${n[$op.unfinished]}"
done
