#!/usr/bin/env bash
# differ.bench.sh - how long lpdiff takes and how much memory, on real code:
#   1. the sqlite3 amalgamation + shell (one 250k-line unit), one function changed
#   2. the Lua 5.4 interpreter (a whole program, 30+ units), one function changed
# OLD and NEW are built once with the plugin (-O2 -g) and cached; lpdiff (the
# plain build) runs ROUNDS times and the fastest run is kept.  Wall time and
# CPU time (user+sys) are both shown: the CPU figure is what a busy machine
# does not disturb.  Prints markdown rows "| benchmark | measured | target |".
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
plugin=${LP_PLUGIN:-$top/build/livepatch.so}
lpdiff=$top/build/bin/lpdiff
cache=${LP_CACHE:-$top/.cache}/plugin # Debian sources, shared with plugin.bench.sh
debsrc=$top/tests/real/debsrc
rounds=${ROUNDS:-3}
work=$top/bench/out/differ
mkdir -p "$work" "$cache"

[[ -f $plugin && -x $lpdiff ]] || { echo "differ.bench: build the plugin and lpdiff first" >&2; exit 1; }
stamp=$(sha1sum "$plugin" | cut -c1-16)

# fetch PKG=VERSION: an exact Debian source into $cache/PKG (tests/real/debsrc).
fetch() {
  local pkg=${1%%=*}
  [[ -d $cache/$pkg/src && $(cat "$cache/$pkg/version" 2>/dev/null) == "$1" ]] ||
    "$debsrc" "$1" "$cache/$pkg" >&2
}

# fresh DIR: true when DIR holds a build by this plugin.
fresh() {
  [[ -f $1/.bench-stamp && $(<"$1/.bench-stamp") == "$stamp" ]]
}

# measure NAME ARGS...: run lpdiff ROUNDS times; sets wall, cpu, rss_mb, rc.
measure() {
  local name=$1 best_wall='' best_cpu='' rss=0
  shift
  for ((i = 0; i < rounds; i++)); do
    rc=0
    /usr/bin/time -f '%e %U %S %M' -o "$work/$name.time" "$lpdiff" "$@" \
      >"$work/$name.out" 2>"$work/$name.err" || rc=$?
    read -r w u s m <"$work/$name.time"
    local c
    c=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
    if [[ -z $best_wall ]] || awk -v a="$w" -v b="$best_wall" 'BEGIN { exit !(a < b) }'; then
      best_wall=$w
    fi
    if [[ -z $best_cpu ]] || awk -v a="$c" -v b="$best_cpu" 'BEGIN { exit !(a < b) }'; then
      best_cpu=$c
    fi
    ((m > rss)) && rss=$m
  done
  wall=$best_wall cpu=$best_cpu rss_mb=$((rss / 1024))
}

# --- 1. sqlite3 amalgamation --------------------------------------------
amalg=$cache/sqlite3/amalg
if [[ ! -f $amalg/sqlite3.c || ! -f $amalg/shell.c ]]; then
  fetch sqlite3=3.40.1-2+deb12u2
  mkdir -p "$amalg"
  (cd "$amalg" && ../src/configure --disable-tcl && make sqlite3.c shell.c) >"$work/sqlite-amalg.log" 2>&1
fi
build_sqlite() { # DIR: copy the amalgamation there (NEW: one function edited), build
  local dir=$1
  fresh "$dir" && return 0
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$amalg/sqlite3.c" "$amalg/sqlite3.h" "$amalg/shell.c" "$dir/"
  if [[ $dir == */new ]]; then
    sed -i 's/^\(SQLITE_API int sqlite3_libversion_number(void){ return SQLITE_VERSION_NUMBER\); }/\1 + 0*sqlite3_initialize(); }/' "$dir/sqlite3.c"
    grep -q '+ 0\*sqlite3_initialize' "$dir/sqlite3.c" || { echo "sqlite edit failed" >&2; return 1; }
  fi
  (cd "$dir" &&
    for f in sqlite3 shell; do
      gcc -fplugin="$plugin" -O2 -g -fPIE -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION \
        -c $f.c -o $f.o
    done && gcc -pie -o sqlite3 sqlite3.o shell.o -lm) >"$dir.log" 2>&1
  echo "$stamp" >"$dir/.bench-stamp"
}
build_sqlite "$work/sqlite/old" &
build_sqlite "$work/sqlite/new"
wait $! || true
wait
measure sqlite --old "$work/sqlite/old" --new "$work/sqlite/new" --module sqlite3 \
  -o "$work/sqlite.lpatch" --report "$work/sqlite.json"
nchanged=$(jq '.changed | length' "$work/sqlite.json")
nfuncs=$("$lpdiff" --list "$work/sqlite/old/sqlite3" | wc -l)
[[ $rc == 0 ]] || echo "differ.bench: lpdiff on sqlite exited $rc" >&2
printf '| lpdiff: sqlite3 amalgamation + shell (%s functions, %s changed), exit %s | %ss wall, %ss CPU | under 1 s |\n' \
  "$nfuncs" "$nchanged" "$rc" "$wall" "$cpu"
printf '| lpdiff: sqlite3 peak memory (max RSS) | %s MB | report |\n' "$rss_mb"

# --- 2. Lua 5.4: a whole program -----------------------------------------
fetch lua5.4=5.4.4-3+deb12u1
build_lua() { # DIR
  local dir=$1
  fresh "$dir" && return 0
  rm -rf "$dir"
  mkdir -p "$dir"
  cp -a "$cache/lua5.4/src/." "$dir/"
  if [[ $dir == */new ]]; then # str_len: one real code change
    sed -i 's/lua_pushinteger(L, (lua_Integer)l);/lua_pushinteger(L, (lua_Integer)l + (l == (size_t)-1));/' \
      "$dir/src/lstrlib.c"
    grep -q 'l == (size_t)-1' "$dir/src/lstrlib.c" || { echo "lua edit failed" >&2; return 1; }
  fi
  make -C "$dir/src" -j2 posix MYCFLAGS="-fplugin=$plugin -g -ffile-prefix-map=$dir=." \
    >"$dir.log" 2>&1
  echo "$stamp" >"$dir/.bench-stamp"
}
build_lua "$work/lua/old"
build_lua "$work/lua/new"
measure lua --old "$work/lua/old" --new "$work/lua/new" --module src/lua \
  -o "$work/lua.lpatch" --report "$work/lua.json"
nunits=$("$lpdiff" --units "$work/lua/old/src/lua" | wc -l)
printf '| lpdiff: Lua 5.4 interpreter (%s units, changed: %s), exit %s | %ss wall, %ss CPU, %s MB | under 1 s |\n' \
  "$nunits" "$(jq -r '.changed | join(" ")' "$work/lua.json")" "$rc" "$wall" "$cpu" "$rss_mb"
