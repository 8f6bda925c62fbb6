#!/usr/bin/env bash
# plugin.bench.sh - what the GCC plugin costs.
#   1. compile time of the sqlite3 amalgamation, -O2, with vs without the plugin
#   2. run time of Lua 5.4 (a recursive benchmark script) built with vs without it
# Both sides are measured alternately, ROUNDS times, and the fastest of each
# is kept; times are CPU time (user+sys) so a busy machine disturbs them less.
# Prints markdown rows "| benchmark | measured | target |".
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
plugin=${LP_PLUGIN:-$top/build/livepatch.so}
cache=${LP_CACHE:-$top/.cache}/plugin
debsrc=$top/tests/real/debsrc
rounds=${ROUNDS:-3}
work=$top/bench/out/plugin
mkdir -p "$work" "$cache"

[[ -f $plugin ]] || { echo "plugin.bench: $plugin not built" >&2; exit 1; }

# fetch PKG=VERSION: an exact Debian source into $cache/PKG (tests/real/debsrc).
fetch() {
  local pkg=${1%%=*}
  [[ -d $cache/$pkg/src && $(cat "$cache/$pkg/version" 2>/dev/null) == "$1" ]] ||
    "$debsrc" "$1" "$cache/$pkg" >&2
}

# cpu CMD...: prints user+sys CPU seconds of CMD (children included).
cpu() {
  local TIMEFORMAT='%U %S'
  { time "$@" >/dev/null 2>"$work/cmd.err"; } 2>"$work/time.txt" ||
    { cat "$work/cmd.err" >&2; return 1; }
  awk '{ printf "%.3f\n", $1 + $2 }' "$work/time.txt"
}

min() { printf '%s\n' "$@" | sort -g | head -1; }

ratio_row() { # name base with target
  awk -v n="$1" -v b="$2" -v w="$3" -v t="$4" 'BEGIN {
    printf "| %s | %.2fs vs %.2fs: %+.1f%% | %s |\n", n, w, b, (w / b - 1) * 100, t }'
}

# --- 1. compile time: sqlite3.c -----------------------------------------
amalg=$cache/sqlite3/amalg
if [[ ! -f $amalg/sqlite3.c ]]; then
  fetch sqlite3=3.40.1-2+deb12u2
  mkdir -p "$amalg"
  (cd "$amalg" && ../src/configure --disable-tcl && make sqlite3.c) >"$work/sqlite-amalg.log" 2>&1
fi
base=() with=()
for ((i = 0; i < rounds; i++)); do
  base+=("$(cpu gcc -O2 -c "$amalg/sqlite3.c" -o "$work/sqlite3-plain.o")")
  with+=("$(cpu gcc -O2 -fplugin="$plugin" -c "$amalg/sqlite3.c" -o "$work/sqlite3-lp.o")")
done
nfuncs=$("$top/build/bin/lpdiff" --list "$work/sqlite3-lp.o" | wc -l)
ratio_row "plugin: compile sqlite3.c -O2 ($nfuncs functions), with vs without" \
  "$(min "${base[@]}")" "$(min "${with[@]}")" "at most +5%"

# --- 2. run time: Lua, recursive benchmark ------------------------------
fetch lua5.4=5.4.4-3+deb12u1
build_lua() { # DIR EXTRA-CFLAGS
  [[ -x $1/src/lua && -f $1/.bench-stamp && $(<"$1/.bench-stamp") == "$2 $(sha1sum "$plugin" | cut -c1-16)" ]] && return 0
  rm -rf "$1"
  mkdir -p "$1"
  cp -a "$cache/lua5.4/src/." "$1/"
  make -C "$1/src" -j2 posix MYCFLAGS="$2" >"$1.log" 2>&1
  echo "$2 $(sha1sum "$plugin" | cut -c1-16)" >"$1/.bench-stamp"
}
build_lua "$work/lua-plain" ""
build_lua "$work/lua-lp" "-fplugin=$plugin"

cat >"$work/bench.lua" <<'EOF'
-- call-heavy: recursive fib, a recursive tree walk, many small closures
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local function tree(d) if d == 0 then return {} end return {tree(d - 1), tree(d - 1)} end
local function count(t) if not t[1] then return 1 end return 1 + count(t[1]) + count(t[2]) end
local s = fib(33)
for _ = 1, 8 do s = s + count(tree(18)) end
local add = function(a, b) return a + b end
for i = 1, 30000000 do s = add(s, i % 7) end
print(s)
EOF
base=() with=()
for ((i = 0; i < rounds + 2; i++)); do
  base+=("$(cpu "$work/lua-plain/src/lua" "$work/bench.lua")")
  with+=("$(cpu "$work/lua-lp/src/lua" "$work/bench.lua")")
done
ratio_row "plugin: Lua 5.4 recursive benchmark, instrumented vs plain" \
  "$(min "${base[@]}")" "$(min "${with[@]}")" "at most +1%"
