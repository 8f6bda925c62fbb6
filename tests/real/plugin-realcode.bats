#!/usr/bin/env bats
# Real code: zlib and Lua 5.4 from Debian's sources build with the plugin,
# work, and give the same hash lists when built in two directories.
# Sources and builds are cached in $LP_CACHE/plugin/ and rebuilt only when
# the plugin changes; a clean clone fetches the pinned versions below with
# tests/real/debsrc (root, apt).
load ../lib/common
load ../plugin/helpers

CACHE=$LP_CACHE/plugin
# Exact versions: the mirror moves on, and these hashes and tests were
# written against these sources.
declare -A VERSION=([zlib]=1:1.2.13.dfsg-1 [lua5.4]=5.4.4-3+deb12u1)

# fetch PKG: Debian source of PKG into $CACHE/PKG/src (upstream, unpatched).
fetch() {
  local want="$1=${VERSION[$1]}"
  [[ -d $CACHE/$1/src && $(cat "$CACHE/$1/version" 2>/dev/null) == "$want" ]] && return 0
  mkdir -p "$CACHE"
  "$DEBSRC" "$want" "$CACHE/$1" >"$CACHE/$1.fetch.log" 2>&1 ||
    { tail -5 "$CACHE/$1.fetch.log" >&2; return 1; }
}

plugin_stamp() {
  sha1sum "$LP_PLUGIN" | cut -c1-16
}

# build PKG DIR: a fresh copy of PKG's source in DIR built with the plugin
# (unless DIR already holds a build by this same plugin).
build() {
  local pkg=$1 dir=$2 stamp
  stamp=$(plugin_stamp)
  [[ -f $dir/.lp-stamp && $(<"$dir/.lp-stamp") == "$stamp" ]] && return 0
  rm -rf "$dir"
  mkdir -p "$dir"
  cp -a "$CACHE/$pkg/src/." "$dir/"
  local cflags="-O2 -fplugin=$LP_PLUGIN -ffile-prefix-map=$dir=."
  case $pkg in
    zlib) (cd "$dir" && CFLAGS="$cflags" ./configure && make -j2) ;;
    lua5.4) make -C "$dir/src" -j2 posix MYCFLAGS="-fplugin=$LP_PLUGIN -ffile-prefix-map=$dir=." ;;
  esac >"$dir.log" 2>&1 || { tail -20 "$dir.log" >&2; return 1; }
  echo "$stamp" >"$dir/.lp-stamp"
}

setup_file() {
  [[ -f $LP_PLUGIN ]] || return 0
  fetch zlib && fetch lua5.4 || return 1
  build zlib "$CACHE/zlib-a/zlib"
  build zlib "$CACHE/zlib-b/elsewhere/zlib"
  build lua5.4 "$CACHE/lua-a/lua"
  build lua5.4 "$CACHE/lua-b/elsewhere/lua"
}

setup() {
  [[ -f $LP_PLUGIN ]] || skip "plugin not built"
}

@test "zlib built with the plugin passes its own make test" {
  run make -C "$CACHE/zlib-a/zlib" test
  assert_success
  assert_output --partial "*** zlib test OK ***"
  assert_output --partial "*** zlib shared test OK ***"
}

@test "zlib: every function has a record, patchable unless opted out" {
  run "$LPDIFF" --list "$CACHE"/zlib-a/zlib/*.o
  assert_success
  assert_line --regexp '^inflate	[0-9a-f]{32}	patchable$'
  assert_line --regexp '^deflate	[0-9a-f]{32}	patchable$'
  refute_line --regexp '	excluded'
  # an ar archive lists the records of its members
  # shellcheck disable=SC2046 # one argument per archive member
  run diff <("$LPDIFF" --list "$CACHE/zlib-a/zlib/libz.a") \
    <(cd "$CACHE/zlib-a/zlib" && "$LPDIFF" --list $(ar t libz.a))
  assert_success
  run "$LPDIFF" --list "$CACHE"/zlib-a/zlib/libz.so.*.*
  assert_success
  assert_line --regexp '^crc32	[0-9a-f]{32}	patchable$'
}

@test "zlib: identical hash lists and units from two build directories" {
  local a=$CACHE/zlib-a/zlib b=$CACHE/zlib-b/elsewhere/zlib
  run diff <("$LPDIFF" --list "$a"/*.o) <("$LPDIFF" --list "$b"/*.o)
  assert_success
  run diff <("$LPDIFF" --list "$a"/libz.so.*.*) <("$LPDIFF" --list "$b"/libz.so.*.*)
  assert_success
  run diff <("$LPDIFF" --units "$a"/*.o) <("$LPDIFF" --units "$b"/*.o)
  assert_success
}

@test "Lua 5.4 built with the plugin runs the script suite" {
  run "$CACHE/lua-a/lua/src/lua" "$LP_TOP/tests/plugin/lua/suite.lua"
  assert_success
  assert_output --regexp 'all [0-9]+ checks passed$'
  refute_output --partial "check failed"
}

@test "Lua: identical hash lists and units from two build directories" {
  local a=$CACHE/lua-a/lua/src b=$CACHE/lua-b/elsewhere/lua/src
  run diff <("$LPDIFF" --list "$a"/*.o) <("$LPDIFF" --list "$b"/*.o)
  assert_success
  run diff <("$LPDIFF" --list "$a/lua") <("$LPDIFF" --list "$b/lua")
  assert_success
  run diff <("$LPDIFF" --units "$a/lua") <("$LPDIFF" --units "$b/lua")
  assert_success
  run diff <("$LPDIFF" --list --statics "$a/lua") <("$LPDIFF" --list --statics "$b/lua")
  assert_success
}

@test "Lua: the interpreter's functions are patchable and linked records resolve" {
  local lua=$CACHE/lua-a/lua/src/lua
  run "$LPDIFF" --list "$lua"
  assert_success
  assert_line --regexp '^luaV_execute	[0-9a-f]{32}	patchable$'
  assert_line --regexp '^lua_pushinteger	[0-9a-f]{32}	patchable$'
  (( $("$LPDIFF" --list "$lua" | grep -c '	patchable') > 500 ))
  run "$LPDIFF" --list --links "$lua"
  assert_line --regexp '^inline	'
  # hot/cold splitting: the cold part has its own record, tied to its parent
  run "$LPDIFF" --list -v "$lua"
  assert_line --regexp '^luaD_throw\.cold	[0-9a-f]{32}	local,cold,noreturn	0x[0-9a-f]+	0	0	luaD_throw$'
  run "$LPDIFF" --list --links "$lua"
  assert_line "cold	luaD_throw.cold	luaD_throw"
}
