#!/usr/bin/env bash
# expat-pause.sh [N] - pause figures for docs/real-world.md: N (default 20)
# apply/revert cycles of the 2->3 (18 functions) and 3->4 (3 functions)
# libexpat patches on a running workload, after tests/real/expat.bats has
# built them.  Prints min/median/max of the pause `lpatch --stats` reports
# and the tries.  Not a test: timing.
#   LPATCH=build/bin/lpatch bash tests/real/expat-pause.sh
set -uo pipefail
n=${1:-20}
export LP_TOP=${LP_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export LPATCH=${LPATCH:-$LP_TOP/build/bin/lpatch}
source "$LP_TOP/tests/real/expat-helpers.bash"
EXPAT_RUN=$LP_TOP/tests/out/real-expat-pause
mkdir -p "$EXPAT_RUN"
expat_compile 2 "$EXPAT_RUN/expat-workload" || exit 1
expat_start 2 || exit 1
pid=$(expat_pid)
trap expat_stop EXIT
pause() { sed -n 's/.*pause \([0-9.]*\) us.* \([0-9]*\) tr[iy].*/\1 \2/p'; }
stats() {
  sort -n | awk -v what="$1" '{ v[NR] = $1; t += $2; if ($2 > tmax) tmax = $2 }
    END { printf "%s: n=%d min=%.0f median=%.0f max=%.0f us, tries mean %.1f max %d\n",
          what, NR, v[1], v[int((NR + 1) / 2)], v[NR], t / NR, tmax }'
}
for p in 2-3 3-7-without-6; do
  : >"$EXPAT_RUN/apply" && : >"$EXPAT_RUN/revert"
  for ((i = 0; i < n; i++)); do
    # 3->7-without-6 stacks on 2->3: apply 2->3 first (not counted).
    [[ $p == 3-7-without-6 ]] && { "$LPATCH" apply "$pid" "$(expat_patch 2-3)" >/dev/null || exit 1; }
    "$LPATCH" apply --stats "$pid" "$(expat_patch $p)" | pause >>"$EXPAT_RUN/apply"
    "$LPATCH" revert --stats "$pid" | pause >>"$EXPAT_RUN/revert"
    [[ $p == 3-7-without-6 ]] && { "$LPATCH" revert "$pid" >/dev/null || exit 1; }
  done
  stats "$p apply" <"$EXPAT_RUN/apply"
  stats "$p revert" <"$EXPAT_RUN/revert"
done
expat_assert_healthy && echo "workload healthy after $(cat "$EXPAT_RUN/iterations") documents, 0 failures"
