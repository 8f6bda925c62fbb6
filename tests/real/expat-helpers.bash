# Helpers for tests/real/expat.bats: Debian 12's expat source, its builds
# through `make livepatch`, and a running XML service to ask questions of.
#
# Cache (kept between runs and by make clean, git-ignored): $LP_CACHE/expat/
#   dl/ src/ patches/ series     debsrc's download and unpacked upstream source
#   tN/                          sources at Debian patch level N
#   t7-without-6/                level 5 + patch 7 (CVE-2024-50602), no patch 6
#   t8-shadow/                   level 8 + expat-shadow/cve-2024-8176-shadow.patch
#   .livepatch/build/tN/         make livepatch's builds of them (with the plugin)
#   patches-A-B/                 make livepatch's output for OLD=tA NEW=tB
# Per run: tests/out/real-expat/ (FIFO, logs, results).

# shellcheck source=real-common.bash
source "$LP_TOP/tests/real/real-common.bash"

EXPAT_CACHE=$LP_CACHE/expat
EXPAT_RUN=$LP_TOP/tests/out/real-expat
EXPAT_LIB=build/lib/.libs/libexpat.so.1.8.10
EXPAT_PATCH_NAME=build_lib_.libs_libexpat.so.1.8.10.lpatch
# The bookworm version whose source the mirror serves (the newer security
# uploads' .dsc are not on it).
EXPAT_VERSION=2.5.0-1+deb12u2
EXPAT_LEVELS="2 3 4 5 6 7 8"
EXPAT_SHADOW_PATCH=$LP_TOP/tests/real/expat-shadow/cve-2024-8176-shadow.patch
# shellcheck disable=SC2034 # used by expat.bats
EXPAT_SHADOW_HOOKS=$LP_TOP/tests/real/expat-shadow/hooks.c

expat_prepare_sources() {
  if [[ $(cat "$EXPAT_CACHE/version" 2>/dev/null) != "expat=$EXPAT_VERSION" ]]; then
    rm -f "$EXPAT_CACHE"/t*.prepared
    "$DEBSRC" "expat=$EXPAT_VERSION" "$EXPAT_CACHE" >&2 || return 1
  fi
  local n
  for n in $EXPAT_LEVELS; do
    [[ -f $EXPAT_CACHE/t$n.prepared && -d $EXPAT_CACHE/t$n ]] && continue
    "$DEBSRC" --upto $n "$EXPAT_CACHE" "$EXPAT_CACHE/t$n" >&2 || return 1
    : >"$EXPAT_CACHE/t$n.prepared"
  done
  # Level 6 (CVE-2023-52425) is refused (struct layout): the next fix,
  # CVE-2024-50602, on top of level 5 without it.
  local t=$EXPAT_CACHE/t7-without-6
  if [[ ! -f $t.prepared || ! -d $t ]]; then
    rm -rf "$t" && cp -a "$EXPAT_CACHE/t5" "$t" &&
      patch -d "$t" -p1 -s -N <"$EXPAT_CACHE/patches/$(sed -n 7p "$EXPAT_CACHE/series")" >&2 &&
      : >"$t.prepared" || return 1
  fi
  # Level 8 (CVE-2024-8176) grows ENTITY and the parser struct: the same
  # fix with the new members after the old ones, reached through shadow
  # variables (expat-shadow/: the patch to Debian's level 8, the hook file).
  t=$EXPAT_CACHE/t8-shadow
  if [[ ! -f $t.prepared || ! -d $t || $EXPAT_SHADOW_PATCH -nt $t.prepared ]]; then
    rm -rf "$t" && cp -a "$EXPAT_CACHE/t8" "$t" &&
      patch -d "$t" -p1 -s -N <"$EXPAT_SHADOW_PATCH" >&2 &&
      : >"$t.prepared" || return 1
  fi
}

# The plugin the builds use: a copy of $LP_PLUGIN, replaced only when its
# content changes (make livepatch rebuilds when the plugin's content does).
EXPAT_PLUGIN=$EXPAT_CACHE/plugin/livepatch.so
expat_snapshot_plugin() {
  mkdir -p "$EXPAT_CACHE/plugin"
  [[ -f $LP_PLUGIN ]] || { echo "no plugin $LP_PLUGIN (make all)" >&2; return 1; }
  if ! cmp -s "$LP_PLUGIN" "$EXPAT_PLUGIN"; then
    cp "$LP_PLUGIN" "$EXPAT_PLUGIN.tmp" && mv "$EXPAT_PLUGIN.tmp" "$EXPAT_PLUGIN"
  fi
}

# The build command names a hash of the build script's code (comments
# aside): make livepatch rebuilds when the command changes.
expat_build_cmd() {
  local id
  id=$(grep -v '^[[:space:]]*#' "$LP_TOP/tests/real/expat-build.sh" | sha256sum | cut -c1-12)
  echo "EXPAT_BUILD_ID=$id bash $LP_TOP/tests/real/expat-build.sh ."
}

# expat_make_patch FROM TO [HOOKS]: make livepatch OLD=tFROM NEW=tTO
# [LIVEPATCH_HOOKS=HOOKS] into patches-FROM-TO/; lpdiff's messages go to
# patches-FROM-TO.log too.
expat_make_patch() {
  local from=$1 to=$2 out=patches-$1-$2 rc=0
  (cd "$EXPAT_CACHE" && rm -rf "$out" &&
    make -s -j2 -f "$LP_TOP/make-rules/livepatch.mk" livepatch OLD=t$from NEW=t$to \
      ${3:+LIVEPATCH_HOOKS="$3"} \
      LIVEPATCH_BUILD="$(expat_build_cmd)" \
      LIVEPATCH_MODULES="$EXPAT_LIB" LIVEPATCH_OUT="$out" LIVEPATCH_DIR=.livepatch \
      LPDIFF="$LPDIFF" LPATCH="$LPATCH" LIVEPATCH_PLUGIN="$EXPAT_PLUGIN") \
    >"$EXPAT_CACHE/$out.log" 2>&1 || rc=$?
  cat "$EXPAT_CACHE/$out.log"
  return $rc
}

expat_build_dir() { echo "$EXPAT_CACHE/.livepatch/build/t$1"; }
expat_patch() { echo "$EXPAT_CACHE/patches-$1/$EXPAT_PATCH_NAME"; }

# expat_patch_functions A-B: the functions a patch replaces, sorted, on one line.
expat_patch_functions() {
  jq -r '.patches[0].functions | sort | join(" ")' "$EXPAT_CACHE/patches-$1/manifest.json"
}

# The workload and probe program, compiled against a build's expat.h and
# linked with its libexpat.so.
expat_compile() {
  local level=$1 out=$2 dir
  dir=$(expat_build_dir "$level")
  gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$out" "$LP_TOP/tests/real/expat-workload.c" \
    -I"$dir/expat/lib" -I"$dir/build" -L"$dir/build/lib/.libs" -lexpat -lpthread
}

# expat_fresh LEVEL PROBE: run one probe in a new process on that level's library.
expat_fresh() {
  local dir
  dir=$(expat_build_dir "$1")
  LD_LIBRARY_PATH=$dir/build/lib/.libs "$EXPAT_RUN/expat-workload" --probe "$2"
}

# Start the workload on the OLD build (level 2); its pid goes to $EXPAT_RUN/pid.
expat_start() {
  local level=$1 dir
  dir=$(expat_build_dir "$level")
  rm -f "$EXPAT_RUN/req" "$EXPAT_RUN/resp"
  mkfifo "$EXPAT_RUN/req" "$EXPAT_RUN/resp"
  echo 0 >"$EXPAT_RUN/iterations"
  LD_LIBRARY_PATH=$dir/build/lib/.libs "$EXPAT_RUN/expat-workload" --serve \
    "$EXPAT_RUN/req" "$EXPAT_RUN/resp" >"$EXPAT_RUN/workload.out" 2>"$EXPAT_RUN/workload.err" \
    </dev/null 3>&- &
  echo $! >"$EXPAT_RUN/pid"
  real_wait_ready "$EXPAT_RUN"
}

expat_pid() { cat "$EXPAT_RUN/pid"; }

expat_stop() { real_stop "$EXPAT_RUN"; }

# expat_ask REQUEST: send one request line down the FIFO and print the
# answer line.  Requests: a probe name (see expat-workload.c) or "status".
expat_ask() { real_ask_fifo "$EXPAT_RUN" "$1"; }

# The workload is alive, has parsed more documents since the last check,
# and none of them gave a wrong result.
expat_assert_healthy() {
  local answer word iter failures
  answer=$(expat_ask status) || return 1
  read -r word iter failures <<<"$answer"
  real_healthy "$EXPAT_RUN" "$([[ $word == status ]] && echo true)" "$failures" "$iter" \
    documents "$answer"
}

# expat_lpatch ARGS...: lpatch, timed into the report (real_lpatch).
expat_lpatch() { real_lpatch "$EXPAT_RUN/results.txt" "$@"; }

# Ids of the patches applied in the workload, oldest first, on one line.
expat_applied_ids() {
  local json
  json=$("$LPATCH" list --json "$(expat_pid)") || return 1
  jq -r '[.patches[].id] | join(" ")' <<<"$json"
}

expat_patch_id() { "$LPATCH" info --json "$(expat_patch "$1")" | jq -r .id; }

# expat_real_changes FROM TO: the functions of patch FROM-TO whose code
# differs in more than shifted __LINE__ constants (expat-line-shift.sh),
# sorted, on one line.
expat_real_changes() {
  local old new
  old=$(expat_build_dir "$1")/$EXPAT_LIB
  new=$(expat_build_dir "$2")/$EXPAT_LIB
  local fns
  mapfile -t fns < <(jq -r '.patches[0].functions[]' "$EXPAT_CACHE/patches-$1-$2/manifest.json")
  bash "$LP_TOP/tests/real/expat-line-shift.sh" "$old" "$new" "${fns[@]}" |
    awk '$2 != "code" && $2 !~ /^lines\+/ { print "unexpected: " $0; next }
         $2 == "code" { print $1 }' | sort | tr '\n' ' ' | sed 's/ $//'
}

# The number of shadow variables the workload holds (lpatch list).
expat_shadows() {
  "$LPATCH" list --json "$(expat_pid)" | jq -r '.shadow_variables // 0'
}

# expat_shadows_reach N: lpatch list shows N shadow variables within 2 s.
# The workload parses between requests, and a parser the patched code is
# using holds a shadow of its own: the count is N only between documents.
expat_shadows_reach() {
  local i n
  for ((i = 0; i < 40; i++)); do
    n=$(expat_shadows) || return 1
    [[ $n == "$1" ]] && return 0
    sleep 0.05
  done
  echo "expected $1 shadow variables, last seen $n" >&2
  return 1
}
