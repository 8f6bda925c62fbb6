#!/usr/bin/env bats
# Real software: Debian 12's cJSON (1.7.15-1+deb12u4), built by its own
# CMake build two ways (tests/real/cjson-build.sh): as an upstream user
# does, with no build type (-O0) and cJSON_Utils, and as debian/rules does
# (-O2, hardening).  Each of Debian's five fixes (six CVEs) becomes a patch
# through `make livepatch`'s foreign mode, and the patches fix a running
# cJSON service (cjson-workload.c) one by one, while it keeps parsing:
#
#   level 1  CVE-2023-50471/50472  NULL checks: InsertItemInArray, SetValuestring
#   level 2  CVE-2024-31755        SetValuestring with a NULL string
#   level 3  CVE-2023-26819        parse_number: a valid long number rejected
#   level 4  CVE-2023-53154        parse_object: reads past a trailing comma
#   level 5  CVE-2025-57052        cJSON_Utils array index check
#
# The tests run in order and share one workload process per mode.
# Figures: tests/out/real-cjson/results.txt; see docs/real-world.md.

load ../lib/common
load cjson-helpers

# The probe of each level's fix.
PROBES=([1]="cve-2023-50471 cve-2023-50472" [2]=cve-2024-31755 [3]=cve-2023-26819
  [4]=cve-2023-53154 [5]=cve-2025-57052)

setup_file() {
  mkdir -p "$CJSON_RUN"
  : >"$CJSON_RUN/results.txt"
  cjson_prepare_sources
  cjson_snapshot_plugin
}

teardown_file() {
  cjson_stop
}

# outcome MODE A B: make livepatch's result for one step, into the figures.
outcome() {
  local rc=0
  run cjson_make_patch "$1" "$2" "$3"
  rc=$status
  local what
  if ((rc != 0)); then
    what="refused: $(grep -m1 'refused \[' <<<"$output")"
  elif [[ $(jq '.patches | length' "$CJSON_CACHE/$1-$2-$3/manifest.json") == 0 ]]; then
    what="no change"
  else
    what="applied: $(cjson_functions "$1-$2-$3")"
  fi
  echo "$1 $2-$3 $what" >>"$CJSON_RUN/results.txt"
  return $rc
}

# probes_say MODE LEVEL: every probe in the running workload answers what a
# fresh process on LEVEL's build answers.
probes_say() {
  local l p want got
  for l in 1 2 3 4 5; do
    for p in ${PROBES[$l]}; do
      [[ $1 == debian && $p == cve-2025-57052 ]] && continue # no cJSON_Utils
      want=$(cjson_fresh "$1" "$2" "$p")
      got=$(cjson_ask "$p")
      [[ $got == "$want" ]] || fail "$p: the workload says '$got', level $2 says '$want'"
    done
  done
}

@test "cjson: debsrc gives cJSON 1.7.15 with Debian's five security patches as levels 1 to 5" {
  run cat "$CJSON_CACHE/series"
  assert_output "0001-add-null-checkings.patch
0002-add-null-check-to-cjson-setvaluestring.patch
0001-allocate-memory-for-the-temporary-buffer.patch
0002-Fix-heap-buffer-overflow.patch
CVE-2025-57052.patch"
}

@test "cjson: the upstream way (cmake, no build type: -O0): every step is a patch of the fixed functions" {
  local s
  for s in "0 1" "1 2" "2 3" "3 4" "4 5"; do
    # shellcheck disable=SC2086
    outcome cmake $s || fail "step $s: $output"
  done
  # -O0: nothing inlined, each patch replaces exactly what the fix touched
  run grep -c -- '-O' "$(cjson_build_dir cmake 0)/build/CMakeFiles/cjson.dir/flags.make"
  assert_output 0
  assert_equal "$(cjson_functions cmake-0-1)" "cJSON_InsertItemInArray cJSON_SetValuestring"
  assert_equal "$(cjson_functions cmake-1-2)" "cJSON_SetValuestring"
  assert_equal "$(cjson_functions cmake-2-3)" "parse_number"
  assert_equal "$(cjson_functions cmake-3-4)" "parse_object"
  assert_equal "$(cjson_functions cmake-4-5)" "decode_array_index_from_pointer"
  assert_equal "$(jq -r '.patches[].module' "$CJSON_CACHE/cmake-4-5/manifest.json")" \
    build/libcjson_utils.so.1.7.15
}

@test "cjson: Debian's way (-O2): every step is a patch; the parsers are inlined into parse_value" {
  local s
  for s in "0 1" "1 2" "2 3" "3 4" "4 5" "0 5"; do
    # shellcheck disable=SC2086
    outcome debian $s || fail "step $s: $output"
  done
  run grep -m1 '^C_FLAGS' "$(cjson_build_dir debian 0)/obj-$CJSON_MULTIARCH/CMakeFiles/cjson.dir/flags.make"
  assert_output --regexp '-g -O2 .*-fstack-protector-strong'
  assert_equal "$(cjson_functions debian-0-1)" "cJSON_InsertItemInArray cJSON_SetValuestring"
  assert_equal "$(cjson_functions debian-2-3)" "parse_value"
  assert_equal "$(cjson_functions debian-3-4)" "parse_value"
  # Debian's libcjson1 has no cJSON_Utils: CVE-2025-57052 changes nothing in it
  assert_equal "$(jq '.patches | length' "$CJSON_CACHE/debian-4-5/manifest.json")" 0
}

@test "cjson: fresh processes: level 0 shows every bug, level 5 none" {
  local p
  cjson_compile cmake 0 "$CJSON_RUN/workload-cmake"
  cjson_compile debian 0 "$CJSON_RUN/workload-debian"
  assert_equal "$(cjson_fresh cmake 0 cve-2023-50471)" "crash SIGSEGV"
  assert_equal "$(cjson_fresh cmake 5 cve-2023-50471)" "returned 0"
  assert_equal "$(cjson_fresh cmake 0 cve-2023-50472)" "crash SIGSEGV"
  assert_equal "$(cjson_fresh cmake 5 cve-2023-50472)" "returned NULL"
  assert_equal "$(cjson_fresh cmake 1 cve-2024-31755)" "crash SIGSEGV"
  assert_equal "$(cjson_fresh cmake 5 cve-2024-31755)" "returned NULL"
  assert_equal "$(cjson_fresh cmake 0 cve-2023-26819)" "rejected"
  assert_equal "$(cjson_fresh cmake 5 cve-2023-26819)" "parsed 1e+70"
  assert_equal "$(cjson_fresh cmake 0 cve-2023-53154)" "crash SIGSEGV"
  assert_equal "$(cjson_fresh cmake 5 cve-2023-53154)" "rejected"
  assert_equal "$(cjson_fresh cmake 0 cve-2025-57052)" "item 27"
  assert_equal "$(cjson_fresh cmake 5 cve-2025-57052)" "no item"
  for p in cve-2023-50471 cve-2023-26819 cve-2023-53154; do
    [[ $(cjson_fresh debian 0 $p) != "$(cjson_fresh debian 5 $p)" ]]
  done
}

@test "cjson -O0: the running service takes the five patches one by one, each fixing its CVE; revert undoes all" {
  cjson_start cmake 0
  probes_say cmake 0
  local l p
  for l in 1 2 3 4 5; do
    for p in $(cjson_patches "cmake-$((l - 1))-$l"); do
      cjson_lpatch apply "$(cjson_pid)" "$p" || fail "apply $p"
    done
    probes_say cmake $l
    cjson_assert_healthy
  done
  run "$LPATCH" list --json "$(cjson_pid)"
  assert_equal "$(jq '.patches | length' <<<"$output")" 5
  for l in 1 2 3 4 5; do
    cjson_lpatch revert "$(cjson_pid)" || fail "revert $l"
  done
  probes_say cmake 0
  cjson_assert_healthy
  cjson_stop
}

@test "cjson -O2: Debian's build takes the cumulative 0->5 patch live and reverts it" {
  cjson_start debian 0
  probes_say debian 0
  cjson_lpatch apply "$(cjson_pid)" "$(cjson_patches debian-0-5)"
  probes_say debian 5
  cjson_assert_healthy
  cjson_lpatch revert "$(cjson_pid)"
  probes_say debian 0
  cjson_assert_healthy
  cjson_stop
}

@test "cjson: figures: applied / refused / no change over both builds" {
  local applied refused nochange
  applied=$(grep -c ' applied: ' "$CJSON_RUN/results.txt")
  refused=$(grep -c ' refused: ' "$CJSON_RUN/results.txt" || true)
  nochange=$(grep -c ' no change$' "$CJSON_RUN/results.txt" || true)
  echo "cjson: $applied applied, $refused refused, $nochange no change" >>"$CJSON_RUN/results.txt"
  assert_equal "$applied $refused $nochange" "10 0 1"
}
