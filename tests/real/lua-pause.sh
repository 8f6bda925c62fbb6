#!/usr/bin/env bash
# lua-pause.sh [N] - pause figures for docs/real-world.md: N (default 20)
# apply/revert cycles of the 3->4 and 3->5 lua5.4 patches on a running
# workload, after `bash tests/run.sh real` has built them.  Prints
# min/median/max of the pause `lpatch --stats` reports.  Not a test: timing.
#   LPATCH=build/bin/lpatch bash tests/real/lua-pause.sh
set -uo pipefail
n=${1:-20}
export LP_TOP=${LP_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export LPATCH=${LPATCH:-$LP_TOP/build/bin/lpatch}
source "$LP_TOP/tests/real/lua-helpers.bash"
LUA_RUN=$LP_TOP/tests/out/real-lua-pause
mkdir -p "$LUA_RUN"
lua_start "$(lua_build_dir 3)/$LUA_EXE" || exit 1
pid=$(lua_pid)
trap lua_stop EXIT
pause() { sed -n 's/.*pause \([0-9.]*\) us.*/\1/p'; }
stats() {
  sort -n | awk -v what="$1" '{ v[NR] = $1 }
    END { printf "%s: n=%d min=%.0f median=%.0f max=%.0f us\n", what, NR, v[1], v[int((NR + 1) / 2)], v[NR] }'
}
for p in 3-4 3-5; do
  : >"$LUA_RUN/apply" && : >"$LUA_RUN/revert"
  for ((i = 0; i < n; i++)); do
    "$LPATCH" apply --stats "$pid" "$LUA_CACHE/patches-$p/src_lua5.4.lpatch" | pause >>"$LUA_RUN/apply"
    "$LPATCH" revert --stats "$pid" | pause >>"$LUA_RUN/revert"
  done
  stats "$p apply" <"$LUA_RUN/apply"
  stats "$p revert" <"$LUA_RUN/revert"
done
lua_assert_healthy && echo "workload healthy after $(cat "$LUA_RUN/iterations") iterations, 0 failures"
