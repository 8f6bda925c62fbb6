#!/usr/bin/env bats
# Real software: Debian 12's expat (2.5.0-1+deb12u2), libexpat.so built by
# Debian's own build steps (tests/real/expat-build.sh) with the plugin
# through `make livepatch`'s foreign mode at each level of Debian's patch
# series, then fixed while a program using it runs:
#
#   level 2  OLD (Debian's two cmake packaging patches)
#   level 3  CVE-2024-45490  XML_ParseBuffer: reject a negative length
#   level 4  CVE-2024-45491  dtdCopy: overflow check (#if'd out on x86-64)
#   level 5  CVE-2024-45492  nextScaffoldPart: same (#if'd out on x86-64)
#   level 6  CVE-2023-52425  reparse deferral: refused (parser struct grows)
#   level 7  CVE-2024-50602  XML_StopParser on an unstarted parser; built on
#                            level 5 without 6 as t7-without-6
#   level 8  CVE-2024-8176   entity expansion without recursion: refused
#
# The workload (expat-workload.c) parses and checks documents without end;
# the reproducers run inside it (requests on a FIFO).  See docs/real-world.md.
# The tests run in order and share one workload process.

load ../lib/common
load expat-helpers

setup_file() {
  mkdir -p "$EXPAT_RUN"
  : >"$EXPAT_RUN/results.txt"
  expat_prepare_sources
  expat_snapshot_plugin
}

teardown_file() {
  expat_stop
}

# record A-B: functions and patch size for the report.
record() {
  local patch
  patch=$(expat_patch "$1")
  echo "$1 functions: $(expat_patch_functions "$1") size: $(stat -c %s "$patch") bytes;" \
    "$("$LPATCH" info "$patch" | grep '^sizes:')" >>"$EXPAT_RUN/results.txt"
}

@test "expat: debsrc gives expat 2.5.0 with Debian's six CVE patches as levels 3 to 8" {
  run sed -n 3,8p "$EXPAT_CACHE/series"
  assert_output "CVE-2024-45490.patch
CVE-2024-45491.patch
CVE-2024-45492.patch
expat-2.5.0-CVE-2023-52425.patch
expat-2.5.0-CVE-2024-50602.patch
expat-2.5.0-CVE-2024-8176.patch"
  # XML_Parse checked len < 0 already; the fix adds the check to XML_ParseBuffer.
  run grep -c 'if (len < 0) {' "$EXPAT_CACHE/t2/expat/lib/xmlparse.c"
  assert_output 1
  run grep -c 'if (len < 0) {' "$EXPAT_CACHE/t3/expat/lib/xmlparse.c"
  assert_output 2
  # t7-without-6: the CVE-2024-50602 fix without CVE-2023-52425's.
  run grep -c 'XML_ERROR_NOT_STARTED' "$EXPAT_CACHE/t7-without-6/expat/lib/xmlparse.c"
  assert_output 2
  run grep -c 'm_reparseDeferralEnabled' "$EXPAT_CACHE/t7-without-6/expat/lib/xmlparse.c"
  assert_output 0
}

@test "expat: make livepatch 2->3 builds Debian's libexpat.so with the plugin and writes the CVE-2024-45490 fix" {
  run expat_make_patch 2 3
  assert_success
  [ -s "$(expat_patch 2-3)" ]
  run readelf -S -W "$(expat_build_dir 2)/$EXPAT_LIB"
  assert_output --partial .livepatch
  # Debian's flags: dpkg-buildflags' plus -Wall and -Bsymbolic-functions.
  run grep -E '^(CFLAGS|LDFLAGS) = ' "$(expat_build_dir 2)/build/lib/Makefile"
  assert_line --regexp '^CFLAGS = -g -O2 .*-fstack-protector-strong .* -Wall$'
  assert_line 'LDFLAGS = -Wl,-Bsymbolic-functions -Wl,-z,relro'
  record 2-3
  run expat_patch_functions 2-3
  assert_output --partial XML_ParseBuffer
  # The 6 added lines move every later __LINE__: 4 functions differ only in
  # the line their assert()s report, 13 more only in the __LINE__ they pass
  # to expat's accounting calls (one also in an assert()'s); all are left
  # out, with a note, and the patch is the fix alone (docs/real-world.md).
  run jq -c '.patches[0].functions' "$EXPAT_CACHE/patches-2-3/manifest.json"
  assert_output '["XML_ParseBuffer"]'
  run grep -c 'only assert() line numbers changed: not patched' "$EXPAT_CACHE/patches-2-3.log"
  assert_output 4
  run grep -c 'only \(assert() and \)\{0,1\}__LINE__ argument line numbers changed: not patched' \
    "$EXPAT_CACHE/patches-2-3.log"
  assert_output 13
  run expat_real_changes 2 3
  assert_output XML_ParseBuffer
  run "$LPATCH" info "$(expat_patch 2-3)"
  assert_line --regexp '^  replace XML_ParseBuffer .* 436 bytes -> new 470 bytes$'
  refute_line --partial 'replace doProlog'
}

@test "expat: 3->4 and 4->5 (CVE-2024-45491, CVE-2024-45492): the checks compile to nothing on x86-64; no patch needed" {
  local f p
  for p in "3 4" "4 5"; do
    run expat_make_patch $p
    assert_success
    assert_output --partial "no change"
    # only the lines of three functions' assert()s moved
    for f in accountingDiffTolerated.part.0 accountingGetCurrentAmplification.part.0 \
      entityTrackingReportStats; do
      assert_output --partial "function $f: only assert() line numbers changed: not patched"
    done
  done
  run jq -c '.patches' "$EXPAT_CACHE/patches-4-5/manifest.json"
  assert_output '[]'
}

@test "expat: 5->6 (CVE-2023-52425) is refused: the parser struct gains members" {
  run expat_make_patch 5 6
  assert_failure
  echo "5-6: $(grep 'refused' <<<"$output" | head -n1)" >>"$EXPAT_RUN/results.txt"
  assert_line "lpdiff: refused [LAYOUT_TYPE] type struct XML_ParserStruct: member 'm_partialTokenBytesBefore' added at offset 88 (xmlparse.c:626)"
  assert_line --partial 'refused by lpdiff'
  [ ! -e "$(expat_patch 5-6)" ]
}

@test "expat: 3->7-without-6 (from the deployed level: 4 and 5 needed no patch) writes the CVE-2024-50602 fix" {
  run expat_make_patch 3 7-without-6
  assert_success
  record 3-7-without-6
  run expat_patch_functions 3-7-without-6
  assert_output --partial XML_StopParser
  assert_output --partial XML_ErrorString
  refute_output --partial XML_ParseBuffer
  # the others only carry __LINE__ arguments that moved, and are left out
  run jq -c '.patches[0].functions | sort' "$EXPAT_CACHE/patches-3-7-without-6/manifest.json"
  assert_output '["XML_ErrorString","XML_StopParser"]'
  run expat_real_changes 3 7-without-6
  assert_output 'XML_ErrorString XML_StopParser'
}

@test "expat: 7->8 (CVE-2024-8176) is refused: the ENTITY struct gains a member" {
  run expat_make_patch 7 8
  assert_failure
  echo "7-8: $(grep 'refused \[' <<<"$output" | tr '\n' ' ')" >>"$EXPAT_RUN/results.txt"
  assert_line "lpdiff: refused [LAYOUT_TYPE] type ENTITY (anonymous struct): member 'hasMore' added at offset 57 (xmlparse.c:308)"
  # storeEntityValue and appendAttributeValue gain a parameter, and their
  # callers are patched too: no SIGNATURE refusal (their own switch tables
  # are not callers: tests/real/regress/lpdiff-jump-table-signature/)
  refute_output --partial "[SIGNATURE]"
  [ ! -e "$(expat_patch 7-8)" ]
}

@test "expat: 7->8-shadow: CVE-2024-8176 with its new members in shadow variables (expat-shadow/) writes a patch" {
  # t8-shadow: Debian's level 8 with the members the fix adds after the old
  # ones and every access to them through parserExtra(), entityHasMore() and
  # entitySetHasMore(); nothing else reads or writes them.
  run grep -c -e '->hasMore' -e '->m_extra' "$EXPAT_CACHE/t8-shadow/expat/lib/xmlparse.c"
  assert_output 3
  run grep -c 'parser->m_reenter\|parser->m_\(open\|free\)\(Attribute\|Value\)Entities' \
    "$EXPAT_CACHE/t8-shadow/expat/lib/xmlparse.c"
  assert_output 0
  # without the hook file: refused, as level 8 is
  run expat_make_patch 7 8-shadow
  assert_failure
  assert_line "lpdiff: refused [LAYOUT_TYPE] type ENTITY (anonymous struct): member 'hasMore' added at offset 59 (xmlparse.c:313)"
  run expat_make_patch 7 8-shadow "$EXPAT_SHADOW_HOOKS"
  assert_success
  refute_output --partial 'refused'
  assert_line --partial "ENTITY (anonymous struct): member 'hasMore' added at offset 59 is handled by shadow variables ($EXPAT_SHADOW_HOOKS)"
  assert_line --partial "struct XML_ParserStruct: member 'm_extra' added at offset 992 is handled by shadow variables ($EXPAT_SHADOW_HOOKS)"
  record 7-8-shadow
  run expat_patch_functions 7-8-shadow
  for f in processEntity internalEntityProcessor doContent doProlog callProcessor.constprop.0 \
    storeEntityValue appendAttributeValue XML_ParserFree XML_ParserReset; do
    assert_output --partial "$f"
  done
  run "$LPATCH" info "$(expat_patch 7-8-shadow)"
  assert_line --partial "callback LP_POST_REVERT ($EXPAT_SHADOW_HOOKS:"
}

@test "expat: make livepatch 2->7-without-6 writes one cumulative patch with the four applicable fixes" {
  run expat_make_patch 2 7-without-6
  assert_success
  record 2-7-without-6
  run expat_patch_functions 2-7-without-6
  assert_output --partial XML_ParseBuffer
  assert_output --partial XML_StopParser
  assert_output --partial XML_ErrorString
}

@test "expat: fresh processes: level 2 shows both bugs, Debian's level 8 neither" {
  expat_compile 2 "$EXPAT_RUN/expat-workload"
  run expat_fresh 2 cve-2024-45490
  assert_output 'status=1 error=0 (null)'
  run expat_fresh 2 cve-2024-50602
  assert_output 'status=1 error=0 parsing=3 string44=(null)'
  run expat_fresh 3 cve-2024-45490
  assert_output 'status=0 error=41 invalid argument'
  run expat_fresh 8 cve-2024-45490
  assert_output 'status=0 error=41 invalid argument'
  run expat_fresh 8 cve-2024-50602
  assert_output 'status=0 error=44 parsing=0 string44=parser not started'
  run expat_fresh 7-without-6 cve-2024-50602
  assert_output 'status=0 error=44 parsing=0 string44=parser not started'
}

@test "expat: the workload runs on the OLD libexpat.so and shows both bugs from inside" {
  expat_start 2
  sleep 0.3
  expat_assert_healthy
  run grep libexpat "/proc/$(expat_pid)/maps"
  assert_output --partial "$(expat_build_dir 2)/$EXPAT_LIB"
  run expat_ask cve-2024-45490
  assert_output 'status=1 error=0 (null)'
  run expat_ask cve-2024-50602
  assert_output 'status=1 error=0 parsing=3 string44=(null)'
}

@test "expat: lpatch apply 2->3 while it runs fixes CVE-2024-45490 inside the process" {
  run expat_lpatch apply --stats "$(expat_pid)" "$(expat_patch 2-3)"
  echo "$output" >>"$EXPAT_RUN/results.txt"
  assert_success
  expat_assert_healthy
  run expat_ask cve-2024-45490
  assert_output 'status=0 error=41 invalid argument'
  run expat_ask cve-2024-50602
  assert_output 'status=1 error=0 parsing=3 string44=(null)'
}

@test "expat: lpatch apply 3->7-without-6 on top fixes CVE-2024-50602 inside the process" {
  run expat_lpatch apply --stats "$(expat_pid)" "$(expat_patch 3-7-without-6)"
  echo "$output" >>"$EXPAT_RUN/results.txt"
  assert_success
  expat_assert_healthy
  run expat_ask cve-2024-50602
  assert_output 'status=0 error=44 parsing=0 string44=parser not started'
  run expat_ask cve-2024-45490
  assert_output 'status=0 error=41 invalid argument'
}

@test "expat: lpatch list shows the two patches, oldest first" {
  run "$LPATCH" list "$(expat_pid)"
  assert_success
  echo "$output" | grep applied >>"$EXPAT_RUN/results.txt"
  run expat_applied_ids
  assert_output "$(expat_patch_id 2-3) $(expat_patch_id 3-7-without-6)"
}

@test "expat: lpatch revert twice brings OLD behaviour back step by step" {
  run expat_lpatch revert --stats "$(expat_pid)"
  echo "$output" >>"$EXPAT_RUN/results.txt"
  assert_success
  expat_assert_healthy
  run expat_ask cve-2024-50602
  assert_output 'status=1 error=0 parsing=3 string44=(null)'
  run expat_ask cve-2024-45490
  assert_output 'status=0 error=41 invalid argument'
  run expat_lpatch revert --stats "$(expat_pid)"
  echo "$output" >>"$EXPAT_RUN/results.txt"
  assert_success
  expat_assert_healthy
  run expat_ask cve-2024-45490
  assert_output 'status=1 error=0 (null)'
  run expat_applied_ids
  assert_success
  assert_output ''
}

@test "expat: the cumulative 2->7-without-6 patch fixes both in the same process, and reverts" {
  run expat_lpatch apply --stats "$(expat_pid)" "$(expat_patch 2-7-without-6)"
  echo "$output" >>"$EXPAT_RUN/results.txt"
  assert_success
  expat_assert_healthy
  run expat_ask cve-2024-45490
  assert_output 'status=0 error=41 invalid argument'
  run expat_ask cve-2024-50602
  assert_output 'status=0 error=44 parsing=0 string44=parser not started'
  run expat_lpatch revert --stats "$(expat_pid)"
  echo "$output" >>"$EXPAT_RUN/results.txt"
  assert_success
  expat_assert_healthy
  run expat_ask cve-2024-45490
  assert_output 'status=1 error=0 (null)'
  run expat_ask cve-2024-50602
  assert_output 'status=1 error=0 parsing=3 string44=(null)'
}

@test "expat: the workload never saw a wrong result and is still running" {
  sleep 0.3
  expat_assert_healthy
  run cat "$EXPAT_RUN/workload.err"
  assert_output ''
  echo "workload documents: $(cat "$EXPAT_RUN/iterations")" >>"$EXPAT_RUN/results.txt"
}

# CVE-2024-8176 live, on a second workload: level 7, patched with 7->8-shadow.

@test "expat: fresh processes: level 7 overflows its stack on entities nested 20000 deep, levels 8 and 8-shadow parse them" {
  expat_stop
  expat_compile 7 "$EXPAT_RUN/expat-workload"
  run expat_fresh 7 cve-2024-8176
  assert_output 'depth=20000 stack=1024KiB child killed by Segmentation fault'
  run expat_fresh 8 cve-2024-8176
  assert_output 'depth=20000 stack=1024KiB parsed text=x'
  # the plain build of t8-shadow (no hook runtime: the members in the objects)
  run expat_fresh 8-shadow cve-2024-8176
  assert_success
  assert_output 'depth=20000 stack=1024KiB parsed text=x'
}

@test "expat: lpatch apply 7->8-shadow while level 7 runs fixes CVE-2024-8176 inside the process" {
  expat_start 7
  sleep 0.3
  expat_assert_healthy
  run expat_ask cve-2024-8176
  assert_output 'depth=20000 stack=1024KiB child killed by Segmentation fault'
  # a parser created by the OLD code, kept across the apply
  run expat_ask hold-start
  assert_output 'status=1 elements=1 text='
  run expat_lpatch apply --stats "$(expat_pid)" "$(expat_patch 7-8-shadow)"
  echo "$output" >>"$EXPAT_RUN/results.txt"
  assert_success
  expat_assert_healthy
  run expat_ask cve-2024-8176
  assert_output 'depth=20000 stack=1024KiB parsed text=x'
  echo "7-8-shadow probe after apply: $output" >>"$EXPAT_RUN/results.txt"
  # the OLD parser goes on, through the NEW code, expanding entities its
  # DTD declared before the apply; the new members are its shadow
  run expat_ask hold-more
  assert_output 'status=1 elements=2 text=[x]'
  expat_shadows_reach 1
  run expat_ask hold-end
  assert_output 'status=1 elements=3 text=[x][x]'
  # freed with the parser; thousands of documents later, none left over
  expat_shadows_reach 0
  expat_assert_healthy
}

@test "expat: lpatch revert 7->8-shadow frees every shadow and brings the overflow back" {
  # a parser created by the NEW code (the larger layout), kept across the revert
  run expat_ask hold-start
  assert_output 'status=1 elements=1 text='
  run expat_ask hold-more
  assert_output 'status=1 elements=2 text=[x]'
  expat_shadows_reach 1
  run expat_lpatch revert --stats "$(expat_pid)"
  echo "$output" >>"$EXPAT_RUN/results.txt"
  assert_success
  run expat_shadows
  assert_output 0
  run "$LPATCH" list "$(expat_pid)"
  assert_line --partial '0 patches, 0 shadow variables'
  run expat_ask hold-end
  assert_output 'status=1 elements=3 text=[x][x]'
  run expat_ask cve-2024-8176
  assert_output 'depth=20000 stack=1024KiB child killed by Segmentation fault'
  echo "7-8-shadow probe after revert: $output" >>"$EXPAT_RUN/results.txt"
  sleep 0.3
  expat_assert_healthy
  run cat "$EXPAT_RUN/workload.err"
  assert_output ''
}
