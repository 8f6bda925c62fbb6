#!/usr/bin/env bats
# Real software: Debian 12's lua5.4 (5.4.4-3+deb12u1), built by Debian's own
# build system at patch levels 3 (OLD), 4 and 5 with the plugin through
# `make livepatch`'s foreign mode, then fixed while it runs with the two
# security patches Debian ships: 0004-cve-2022-28805 (parser) and
# 0005-cve-2022-33099 (error handling, VM string concatenation).
#
# Debian's lua5.4 interpreter carries the Lua core itself (libtool -static),
# so a running lua5.4 is patched in its executable: 3->4 then 4->5 stacked,
# reverted, then the cumulative 3->5.  Debian's liblua5.4.so.0 (package
# liblua5.4-0) is patched in a program that embeds it.  Each fix is shown by
# a reproducer run inside the live process (tests/real/lua/probe-*.lua).
# See docs/real-world.md.
#
# The tests run in order and share one workload process.

load ../lib/common
load lua-helpers

setup_file() {
  mkdir -p "$LUA_RUN"
  : >"$LUA_RUN/results.txt"
  lua_prepare_sources
  lua_snapshot_plugin
}

teardown_file() {
  lua_stop
}

@test "lua: debsrc gives lua5.4 5.4.4 with Debian's two CVE patches as 4 and 5" {
  run cat "$LUA_CACHE/series"
  assert_line --index 3 0004-cve-2022-28805.patch
  assert_line --index 4 0005-cve-2022-33099.patch
  run grep -c 'luaK_exp2anyregup(fs, var);  /\* but could be a constant \*/' "$LUA_CACHE/t4/src/lparser.c"
  assert_output 1
  run grep -c 'luaK_exp2anyregup(fs, var);  /\* but could be a constant \*/' "$LUA_CACHE/t3/src/lparser.c"
  assert_output 0
}

@test "lua: make livepatch 3->4 builds Debian's lua5.4 with the plugin and writes the parser fix" {
  run lua_make_patch 3 4 patches-3-4 "$LUA_EXE"
  assert_success
  local patch=$LUA_CACHE/patches-3-4/src_lua5.4.lpatch
  [ -s "$patch" ]
  # Debian's interpreter: libtool linked liblua5.4.a into it, so it needs no
  # liblua5.4.so; and it carries the plugin's records.
  run ldd "$(lua_build_dir 3)/$LUA_EXE"
  assert_success
  refute_output --partial liblua
  run readelf -S -W "$(lua_build_dir 3)/$LUA_EXE"
  assert_output --partial .livepatch
  run jq -r '.patches[0].functions[]' "$LUA_CACHE/patches-3-4/manifest.json"
  assert_success
  echo "3->4 functions: $(echo $output) size: $(stat -c %s "$patch") bytes" >>"$LUA_RUN/results.txt"
  # The fix is one line in singlevar (static, -Os); nothing else differs.
  assert_output singlevar
}

@test "lua: make livepatch 4->5 writes the error-handling and concatenation fix" {
  run lua_make_patch 4 5 patches-4-5 "$LUA_EXE"
  assert_success
  local patch=$LUA_CACHE/patches-4-5/src_lua5.4.lpatch
  [ -s "$patch" ]
  run jq -r '.patches[0].functions[]' "$LUA_CACHE/patches-4-5/manifest.json"
  assert_success
  echo "4->5 functions: $(echo $output) size: $(stat -c %s "$patch") bytes" >>"$LUA_RUN/results.txt"
  assert_line luaG_runerror
  # GCC split luaV_concat: its body is the partial-inlining part.
  assert_line --regexp '^luaV_concat(\.part\.[0-9]+)?$'
  refute_line --regexp 'singlevar|luaY_'
}

@test "lua: make livepatch 3->5 writes one cumulative patch with both fixes, for lua5.4 and liblua5.4.so" {
  run lua_make_patch 3 5 patches-3-5 "$LUA_EXE" "$LUA_LIB"
  assert_success
  local lib=$LUA_CACHE/patches-3-5/src_.libs_liblua5.4.so.0.0.0.lpatch
  [ -s "$lib" ]
  run jq -r '.patches[1].functions | sort | join(" ")' "$LUA_CACHE/patches-3-5/manifest.json"
  assert_output --regexp '^luaG_runerror luaV_concat(\.part\.[0-9]+)? singlevar$'
  echo "3->5 liblua5.4.so functions: $output size: $(stat -c %s "$lib") bytes" >>"$LUA_RUN/results.txt"
  local patch=$LUA_CACHE/patches-3-5/src_lua5.4.lpatch
  [ -s "$patch" ]
  run jq -r '.patches[0].functions[]' "$LUA_CACHE/patches-3-5/manifest.json"
  assert_success
  echo "3->5 functions: $(echo $output) size: $(stat -c %s "$patch") bytes" >>"$LUA_RUN/results.txt"
  assert_line singlevar
  assert_line luaG_runerror
  assert_line --regexp '^luaV_concat(\.part\.[0-9]+)?$'
}

@test "lua: fresh interpreters: level 3 shows both bugs, level 5 neither" {
  run lua_fresh 3 probe-cve-2022-28805.lua
  assert_output $'true\tglobal read from local register 0'
  run lua_fresh 4 probe-cve-2022-28805.lua
  assert_output --regexp $'^false\tcve-2022-28805:3: attempt to index a number value'
  run lua_fresh 4 probe-cve-2022-33099.lua
  assert_output --regexp $'^1\t'
  run lua_fresh 5 probe-cve-2022-33099.lua
  assert_output --regexp $'^0\t.*attempt to perform arithmetic on a nil value'
}

@test "lua: the workload runs on the OLD build and shows both bugs from inside" {
  lua_start "$(lua_build_dir 3)/$LUA_EXE"
  sleep 0.5
  lua_assert_healthy
  run lua_ask probe-cve-2022-28805.lua
  assert_output $'true\ttrue\tglobal read from local register 0'
  run lua_ask probe-cve-2022-33099.lua
  assert_output --regexp $'^true\t1\t'
}

@test "lua: lpatch apply 3->4 while it runs fixes CVE-2022-28805 inside the process" {
  run lua_lpatch apply --stats "$(lua_pid)" "$LUA_CACHE/patches-3-4/src_lua5.4.lpatch"
  echo "$output" >>"$LUA_RUN/results.txt"
  assert_success
  lua_assert_healthy
  run lua_ask probe-cve-2022-28805.lua
  assert_output --regexp $'^true\tfalse\tcve-2022-28805:3: attempt to index a number value'
  run lua_ask probe-cve-2022-33099.lua
  assert_output --regexp $'^true\t1\t'
}

@test "lua: lpatch apply 4->5 on top fixes CVE-2022-33099 inside the process" {
  run lua_lpatch apply --stats "$(lua_pid)" "$LUA_CACHE/patches-4-5/src_lua5.4.lpatch"
  echo "$output" >>"$LUA_RUN/results.txt"
  assert_success
  lua_assert_healthy
  run lua_ask probe-cve-2022-33099.lua
  assert_output --regexp $'^true\t0\trequest:[0-9]+: attempt to perform arithmetic on a nil value'
  run lua_ask probe-cve-2022-28805.lua
  assert_output --regexp $'^true\tfalse\t'
  # The upstream shape of the bug (errors recurring in message handlers with
  # the stacks exhausted) runs through the new luaG_runerror.
  run lua_ask stress-errors.lua
  assert_output $'true\tfalse\terror in error handling\tfalse\terror in error handling'
  lua_assert_healthy
}

@test "lua: lpatch list shows both patches in the running process" {
  run "$LPATCH" list "$(lua_pid)"
  assert_success
  echo "$output" >>"$LUA_RUN/results.txt"
  run lua_applied_ids
  assert_success
  assert_output "$(lua_patch_id 3-4) $(lua_patch_id 4-5)"
}

@test "lua: lpatch revert twice brings OLD behaviour back and the process stays healthy" {
  run lua_lpatch revert --stats "$(lua_pid)"
  echo "$output" >>"$LUA_RUN/results.txt"
  assert_success
  lua_assert_healthy
  run lua_applied_ids
  assert_output "$(lua_patch_id 3-4)"
  run lua_ask probe-cve-2022-33099.lua
  assert_output --regexp $'^true\t1\t'
  run lua_ask probe-cve-2022-28805.lua
  assert_output --regexp $'^true\tfalse\t'

  run lua_lpatch revert --stats "$(lua_pid)"
  echo "$output" >>"$LUA_RUN/results.txt"
  assert_success
  lua_assert_healthy
  run lua_ask probe-cve-2022-28805.lua
  assert_output $'true\ttrue\tglobal read from local register 0'
  run lua_applied_ids
  assert_success
  assert_output ''
}

@test "lua: the cumulative 3->5 patch fixes both CVEs in the same process, and reverts" {
  run lua_applied_ids
  assert_output ''
  run lua_lpatch apply --stats "$(lua_pid)" "$LUA_CACHE/patches-3-5/src_lua5.4.lpatch"
  echo "$output" >>"$LUA_RUN/results.txt"
  assert_success
  lua_assert_healthy
  run lua_ask probe-cve-2022-28805.lua
  assert_output --regexp $'^true\tfalse\tcve-2022-28805:3: attempt to index a number value'
  run lua_ask probe-cve-2022-33099.lua
  assert_output --regexp $'^true\t0\trequest:[0-9]+: attempt to perform arithmetic on a nil value'
  run lua_ask stress-errors.lua
  assert_output $'true\tfalse\terror in error handling\tfalse\terror in error handling'
  lua_assert_healthy

  run lua_lpatch revert --stats "$(lua_pid)"
  echo "$output" >>"$LUA_RUN/results.txt"
  assert_success
  lua_assert_healthy
  run lua_ask probe-cve-2022-28805.lua
  assert_output $'true\ttrue\tglobal read from local register 0'
  run lua_ask probe-cve-2022-33099.lua
  assert_output --regexp $'^true\t1\t'
  run lua_applied_ids
  assert_output ''
}

@test "lua: the workload never saw a wrong result and is still running" {
  sleep 0.5
  lua_assert_healthy
  run lua_ask stress-errors.lua
  assert_output $'true\tfalse\terror in error handling\tfalse\terror in error handling'
  lua_assert_healthy
  run cat "$LUA_RUN/workload.err"
  assert_output ''
  echo "workload iterations: $(cat "$LUA_RUN/iterations")" >>"$LUA_RUN/results.txt"
}

@test "lua: liblua5.4.so in a program that embeds it: the 3->5 library patch fixes both CVEs live" {
  lua_stop
  # Like any Debian package that links liblua5.4-0: Debian's lua.o (level 3)
  # linked against the level-3 shared library instead of the static archive.
  local src
  src=$(lua_build_dir 3)/src
  gcc -o "$LUA_RUN/lua5.4-embedded" "$src/lua.o" -L"$src/.libs" -llua5.4 -lreadline -lm -ldl \
    -Wl,-rpath,"$src/.libs"
  run ldd "$LUA_RUN/lua5.4-embedded"
  assert_output --partial "$src/.libs/liblua5.4.so.0"
  lua_start "$LUA_RUN/lua5.4-embedded"
  lua_assert_healthy
  run lua_ask probe-cve-2022-28805.lua
  assert_output $'true\ttrue\tglobal read from local register 0'
  run lua_ask probe-cve-2022-33099.lua
  assert_output --regexp $'^true\t1\t'

  run lua_lpatch apply --stats "$(lua_pid)" "$LUA_CACHE/patches-3-5/src_.libs_liblua5.4.so.0.0.0.lpatch"
  echo "$output" >>"$LUA_RUN/results.txt"
  assert_success
  lua_assert_healthy
  run lua_ask probe-cve-2022-28805.lua
  assert_output --regexp $'^true\tfalse\tcve-2022-28805:3: attempt to index a number value'
  run lua_ask probe-cve-2022-33099.lua
  assert_output --regexp $'^true\t0\t'

  run lua_lpatch revert --stats "$(lua_pid)"
  echo "$output" >>"$LUA_RUN/results.txt"
  assert_success
  lua_assert_healthy
  run lua_ask probe-cve-2022-28805.lua
  assert_output $'true\ttrue\tglobal read from local register 0'
  run cat "$LUA_RUN/workload.err"
  assert_output ''
}
