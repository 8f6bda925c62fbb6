# Helpers for tests/real/cjson.bats: Debian 12's cJSON source, its CMake
# builds through `make livepatch`, and a running cJSON service to ask.
#
# Cache (kept between runs and by make clean, git-ignored): $LP_CACHE/cjson/
#   dl/ src/ patches/ series     debsrc's download and unpacked upstream source
#   tN/                          sources at Debian patch level N (0-5)
#   .livepatch-MODE/build/tN/    make livepatch's builds (MODE cmake|debian)
#   MODE-A-B/                    make livepatch's output for OLD=tA NEW=tB
# Per run: tests/out/real-cjson/ (FIFOs, logs, results).

# shellcheck source=real-common.bash
source "$LP_TOP/tests/real/real-common.bash"

CJSON_CACHE=$LP_CACHE/cjson
CJSON_RUN=$LP_TOP/tests/out/real-cjson
CJSON_VERSION=1.7.15-1+deb12u4
CJSON_LEVELS="0 1 2 3 4 5"
CJSON_MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)

# cjson_libdir MODE: where a build puts the libraries, relative to its tree.
cjson_libdir() { [[ $1 == cmake ]] && echo build || echo "obj-$CJSON_MULTIARCH"; }

# cjson_modules MODE: the modules make livepatch diffs.
cjson_modules() {
  local d
  d=$(cjson_libdir "$1")
  echo "$d/libcjson.so.1.7.15"
  [[ $1 == cmake ]] && echo "$d/libcjson_utils.so.1.7.15"
  return 0
}

cjson_prepare_sources() {
  if [[ $(cat "$CJSON_CACHE/version" 2>/dev/null) != "cjson=$CJSON_VERSION" ]]; then
    rm -f "$CJSON_CACHE"/t*.prepared
    "$DEBSRC" "cjson=$CJSON_VERSION" "$CJSON_CACHE" >&2 || return 1
  fi
  local n
  for n in $CJSON_LEVELS; do
    [[ -f $CJSON_CACHE/t$n.prepared && -d $CJSON_CACHE/t$n ]] && continue
    "$DEBSRC" --upto "$n" "$CJSON_CACHE" "$CJSON_CACHE/t$n" >&2 || return 1
    : >"$CJSON_CACHE/t$n.prepared"
  done
}

# The plugin the builds use: a copy of $LP_PLUGIN, replaced only when its
# content changes (make livepatch rebuilds when the plugin's content does).
CJSON_PLUGIN=$CJSON_CACHE/plugin/livepatch.so
cjson_snapshot_plugin() {
  mkdir -p "$CJSON_CACHE/plugin"
  [[ -f $LP_PLUGIN ]] || { echo "no plugin $LP_PLUGIN (make all)" >&2; return 1; }
  cmp -s "$LP_PLUGIN" "$CJSON_PLUGIN" ||
    { cp "$LP_PLUGIN" "$CJSON_PLUGIN.tmp" && mv "$CJSON_PLUGIN.tmp" "$CJSON_PLUGIN"; }
}

# The build command names a hash of the build script's code (comments
# aside): make livepatch rebuilds when the command changes.
cjson_build_cmd() {
  local id
  id=$(grep -v '^[[:space:]]*#' "$LP_TOP/tests/real/cjson-build.sh" | sha256sum | cut -c1-12)
  echo "CJSON_BUILD_ID=$id bash $LP_TOP/tests/real/cjson-build.sh $1 ."
}

# cjson_make_patch MODE FROM TO: make livepatch OLD=tFROM NEW=tTO into
# MODE-FROM-TO/; its messages go to MODE-FROM-TO.log too.
cjson_make_patch() {
  local mode=$1 from=$2 to=$3 out=$1-$2-$3 rc=0 mods
  mods=$(cjson_modules "$mode" | paste -sd' ')
  (cd "$CJSON_CACHE" && rm -rf "$out" &&
    make -s -j2 -f "$LP_TOP/make-rules/livepatch.mk" livepatch OLD="t$from" NEW="t$to" \
      LIVEPATCH_BUILD="$(cjson_build_cmd "$mode")" LIVEPATCH_MODULES="$mods" \
      LIVEPATCH_OUT="$out" LIVEPATCH_DIR=".livepatch-$mode" \
      LPDIFF="$LPDIFF" LPATCH="$LPATCH" LIVEPATCH_PLUGIN="$CJSON_PLUGIN") \
    >"$CJSON_CACHE/$out.log" 2>&1 || rc=$?
  cat "$CJSON_CACHE/$out.log"
  return $rc
}

cjson_build_dir() { echo "$CJSON_CACHE/.livepatch-$1/build/t$2"; }

# cjson_patches MODE-A-B: the patch files of one make livepatch run.
cjson_patches() { jq -r '.patches[].file' "$CJSON_CACHE/$1/manifest.json" | sed "s|^|$CJSON_CACHE/$1/|"; }

# cjson_functions MODE-A-B: the functions its patches replace, sorted, on one line.
cjson_functions() {
  jq -r '[.patches[].functions[]] | sort | join(" ")' "$CJSON_CACHE/$1/manifest.json"
}

# cjson_compile MODE LEVEL OUT: the workload against that build.
cjson_compile() {
  local mode=$1 dir lib
  dir=$(cjson_build_dir "$mode" "$2")
  lib=$dir/$(cjson_libdir "$mode")
  local -a utils=()
  [[ $mode == cmake ]] && utils=(-DCJSON_UTILS -lcjson_utils)
  gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$3" "$LP_TOP/tests/real/cjson-workload.c" \
    -I"$dir" -L"$lib" "${utils[@]}" -lcjson
}

# cjson_fresh MODE LEVEL PROBE: one probe in a new process on that build.
cjson_fresh() {
  LD_LIBRARY_PATH=$(cjson_build_dir "$1" "$2")/$(cjson_libdir "$1") \
    "$CJSON_RUN/workload-$1" --probe "$3"
}

# cjson_start MODE LEVEL: the workload on that build; pid in $CJSON_RUN/pid.
cjson_start() {
  cjson_stop # one workload at a time, even after a failed test
  rm -f "$CJSON_RUN/req" "$CJSON_RUN/resp"
  mkfifo "$CJSON_RUN/req" "$CJSON_RUN/resp"
  echo 0 >"$CJSON_RUN/iterations"
  LD_LIBRARY_PATH=$(cjson_build_dir "$1" "$2")/$(cjson_libdir "$1") \
    "$CJSON_RUN/workload-$1" --serve "$CJSON_RUN/req" "$CJSON_RUN/resp" \
    >"$CJSON_RUN/workload.out" 2>"$CJSON_RUN/workload.err" </dev/null 3>&- &
  echo $! >"$CJSON_RUN/pid"
  real_wait_ready "$CJSON_RUN"
}

cjson_pid() { cat "$CJSON_RUN/pid"; }

cjson_stop() { real_stop "$CJSON_RUN"; }

# cjson_ask REQUEST: one request down the FIFO, the answer line out.
cjson_ask() { real_ask_fifo "$CJSON_RUN" "$1"; }

# The workload is alive, has checked more documents since the last check,
# and none of them gave a wrong result.
cjson_assert_healthy() {
  local answer word iter failures
  answer=$(cjson_ask status) || return 1
  read -r word iter failures <<<"$answer"
  real_healthy "$CJSON_RUN" "$([[ $word == status ]] && echo true)" "$failures" "$iter" \
    documents "$answer"
}

cjson_lpatch() { real_lpatch "$CJSON_RUN/results.txt" "$@"; }
