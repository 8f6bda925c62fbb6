# Helpers for tests/real/lua.bats: Debian's lua5.4 source, its builds through
# `make livepatch`, and a running Lua service to ask questions of.
#
# Cache (kept between runs and by make clean, git-ignored): $LP_CACHE/lua/
#   dl/ src/ patches/ series     debsrc's download and unpacked upstream source
#   t3/ t4/ t5/                  sources at Debian patch levels 3, 4, 5
#   .livepatch/build/tN/         make livepatch's builds of them (with the plugin)
# Per run: tests/out/real-lua/ (mailbox, logs, results).

# shellcheck source=real-common.bash
source "$LP_TOP/tests/real/real-common.bash"

LUA_CACHE=$LP_CACHE/lua
LUA_RUN=$LP_TOP/tests/out/real-lua
LUA_SCRIPTS=$LP_TOP/tests/real/lua
LUA_EXE=src/lua5.4
# shellcheck disable=SC2034 # used by lua.bats
LUA_LIB=src/.libs/liblua5.4.so.0.0.0
# The exact source this suite was written against (see docs/real-world.md).
LUA_VERSION=5.4.4-3+deb12u1

# debsrc once, then one source tree per patch level.  Each tree gets Debian's
# debian/ directory (the build reads debian/configure.ac and the version
# script).
lua_prepare_sources() {
  if [[ $(cat "$LUA_CACHE/version" 2>/dev/null) != "lua5.4=$LUA_VERSION" ]]; then
    rm -f "$LUA_CACHE"/t*.prepared
    "$DEBSRC" "lua5.4=$LUA_VERSION" "$LUA_CACHE" >&2 || return 1
  fi
  local n
  for n in 3 4 5; do
    [[ -f $LUA_CACHE/t$n.prepared && -d $LUA_CACHE/t$n ]] && continue
    "$DEBSRC" --upto $n "$LUA_CACHE" "$LUA_CACHE/t$n" >&2 || return 1
    cp -a "$LUA_CACHE/.debian/debian" "$LUA_CACHE/t$n/debian"
    : >"$LUA_CACHE/t$n.prepared"
  done
}

# The plugin the builds use: a copy of $LP_PLUGIN, replaced only when its
# content changes.  make livepatch rebuilds everything when the plugin's
# content changes; the copy also keeps a plugin rebuilt during a run from
# reaching half of a build.
lua_snapshot_plugin() {
  mkdir -p "$LUA_CACHE/plugin"
  LUA_PLUGIN=$LUA_CACHE/plugin/livepatch.so
  [[ -f $LP_PLUGIN ]] || { echo "no plugin $LP_PLUGIN (make all)" >&2; return 1; }
  if ! cmp -s "$LP_PLUGIN" "$LUA_PLUGIN"; then
    cp "$LP_PLUGIN" "$LUA_PLUGIN.tmp" && mv "$LUA_PLUGIN.tmp" "$LUA_PLUGIN"
  fi
}
LUA_PLUGIN=$LUA_CACHE/plugin/livepatch.so

# lua_make_patch FROM TO OUT MODULE...: make livepatch OLD=tFROM NEW=tTO
lua_make_patch() {
  local from=$1 to=$2 out=$3
  shift 3
  (cd "$LUA_CACHE" && rm -rf "$out" &&
    make -s -j2 -f "$LP_TOP/make-rules/livepatch.mk" livepatch OLD=t$from NEW=t$to \
      LIVEPATCH_BUILD="$(lua_build_cmd)" \
      LIVEPATCH_MODULES="$*" LIVEPATCH_OUT="$out" LIVEPATCH_DIR=.livepatch \
      LPDIFF="$LPDIFF" LPATCH="$LPATCH" LIVEPATCH_PLUGIN="$LUA_PLUGIN")
}

# The build command names a hash of the build script's code (comments
# aside): make livepatch rebuilds when the command changes, so when the
# script's code does.
lua_build_cmd() {
  local id
  id=$(grep -v '^[[:space:]]*#' "$LP_TOP/tests/real/lua-build.sh" | sha256sum | cut -c1-12)
  echo "LUA_BUILD_ID=$id bash $LP_TOP/tests/real/lua-build.sh ."
}

lua_build_dir() { echo "$LUA_CACHE/.livepatch/build/t$1"; }

# lua_fresh LEVEL SCRIPT: run a probe in a new interpreter of that build.
lua_fresh() {
  (cd "$LUA_SCRIPTS" && "$(lua_build_dir "$1")/$LUA_EXE" -e "print(dofile('$2'))")
}

# Start the workload on the OLD build; its pid goes to $LUA_RUN/pid.
lua_start() {
  local exe=$1
  rm -rf "$LUA_RUN/mbox"
  mkdir -p "$LUA_RUN/mbox/req" "$LUA_RUN/mbox/resp"
  echo 0 >"$LUA_RUN/seq"
  echo 0 >"$LUA_RUN/iterations"
  (cd "$LUA_SCRIPTS" && exec "$exe" workload.lua "$LUA_RUN/mbox" \
    >"$LUA_RUN/workload.out" 2>"$LUA_RUN/workload.err" </dev/null 3>&-) &
  echo $! >"$LUA_RUN/pid"
  real_wait_ready "$LUA_RUN"
}

lua_pid() { cat "$LUA_RUN/pid"; }

lua_stop() { real_stop "$LUA_RUN"; }

# lua_ask SCRIPT: run SCRIPT (a file under tests/real/lua/) inside the
# running workload; prints its answer: "true|false<TAB>results...".
lua_ask() {
  local n pid resp i
  n=$(($(cat "$LUA_RUN/seq") + 1))
  echo $n >"$LUA_RUN/seq"
  pid=$(lua_pid)
  cp "$LUA_SCRIPTS/$1" "$LUA_RUN/mbox/req/$n.tmp"
  mv "$LUA_RUN/mbox/req/$n.tmp" "$LUA_RUN/mbox/req/$n.lua"
  resp=$LUA_RUN/mbox/resp/$n.txt
  for ((i = 0; i < 300; i++)); do
    if [[ -f $resp ]]; then
      cat "$resp"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "workload (pid $pid) is gone while asked $1; stderr:" >&2
      cat "$LUA_RUN/workload.err" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "workload (pid $pid) did not answer $1 within 30 s" >&2
  return 1
}

# The workload is alive, has made progress since the last check, and has
# seen no wrong result.
lua_assert_healthy() {
  local answer ok iter failures
  answer=$(lua_ask status.lua) || return 1
  IFS=$'\t' read -r ok iter failures _ <<<"$answer"
  real_healthy "$LUA_RUN" "$ok" "$failures" "$iter" iterations "$answer"
}

# lua_lpatch ARGS...: lpatch, timed into the report (real_lpatch).
lua_lpatch() { real_lpatch "$LUA_RUN/results.txt" "$@"; }

# lua_patch_id 3-4: the id of that patch file.
lua_patch_id() {
  "$LPATCH" info --json "$LUA_CACHE/patches-$1/src_lua5.4.lpatch" | jq -r .id
}

# Ids of the patches applied in the workload, oldest first, on one line.
lua_applied_ids() {
  local json
  json=$("$LPATCH" list --json "$(lua_pid)") || return 1
  jq -r '[.patches[].id] | join(" ")' <<<"$json"
}
