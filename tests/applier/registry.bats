#!/usr/bin/env bats
# The registry ($LIVEPATCH_REGISTRY): lpatch install stores patches by
# build-id in stacking order, remove takes them out, auto applies what is
# installed to every process mapping the module and reverts what was
# removed, status says what is applied, pending or refused and why.  The
# signature policy holds at install and again at auto.
load helpers

B2=ab000000000000000000000000000000000000ab
B3=bc000000000000000000000000000000000000bc
B9=cd000000000000000000000000000000000000cd

setup_file() {
  build_mkpatch
  local d=$BATS_FILE_TMPDIR
  # auto patches every process on the host that maps the module: a build-id
  # of this file's own, so no other suite's loop is one of them.
  printf 'const char registry_tag[] __attribute__((used)) = "%s %s";\n' "$d" "$$" >"$d/tag.c"
  target loop loop.c "$d/tag.c"
  mkpatch --new-build-id $B2 "$d/a.lpatch" "$d/loop" "compute=$COMPUTE_1001"
  mkpatch --old-build-id $B2 --new-build-id $B3 "$d/b.lpatch" "$d/loop" "compute=$COMPUTE_2001"
  # on v2, but b is installed on top of v2 already: does not stack
  mkpatch --old-build-id $B2 --new-build-id $B9 "$d/branch.lpatch" "$d/loop" "compute=$COMPUTE_3001"
  # another build of loop that no installed patch leaves
  mkpatch --old-build-id $B9 --new-build-id $B3 "$d/other.lpatch" "$d/loop" "compute=$COMPUTE_3001"
  "$LPATCH" keygen --out "$d" ops >/dev/null
  BASE=$(readelf -n "$d/loop" | sed -n 's/.*Build ID: //p')
  echo "$BASE" >"$d/base"
}

setup() {
  export LIVEPATCH_REGISTRY=$BATS_TEST_TMPDIR/reg
  export LIVEPATCH_KEYS_DIR=$BATS_TEST_TMPDIR/keys # none: signatures not required
  D=$BATS_FILE_TMPDIR
  BASE=$(cat "$D/base")
  A=$(id_of "$D/a.lpatch")
  B=$(id_of "$D/b.lpatch")
}

teardown() { stop_all; }

id_of() { "$LPATCH" info --json "$1" | jq -r .id; }

# start_loop VAR: a loop process, its pid in VAR and its status file in VAR_ST.
start_loop() {
  start "$D/loop" 1 "$BATS_TEST_TMPDIR/$1.st"
  wait_until test -s "$BATS_TEST_TMPDIR/$1.st"
  printf -v "$1" %s "$TPID"
  printf -v "${1}_ST" %s "$BATS_TEST_TMPDIR/$1.st"
}

# The statuses of the installed patches of process PID, by lpatch status --json.
statuses() {
  "$LPATCH" status --json "$1" |
    jq -r --argjson p "$1" '.processes[] | select(.pid == $p) | .modules[].patches[] | .status' |
    paste -sd' '
}

@test "install two stacked patches, auto patches two processes of the program" {
  start_loop P1
  start_loop P2
  run "$LPATCH" install "$D/a.lpatch" "$D/b.lpatch"
  assert_success
  assert_line "installed ${A:0:12} ($D/a.lpatch) in $LIVEPATCH_REGISTRY/$BASE as patch 1 of the chain"
  assert_line "installed ${B:0:12} ($D/b.lpatch) in $LIVEPATCH_REGISTRY/$BASE as patch 2 of the chain, stacked"
  [[ $(cat "$LIVEPATCH_REGISTRY/$BASE/order" | grep -v '^#' | cut -d' ' -f1-3 | paste -sd' ') == \
    "$A $BASE $B2 $B $B2 $B3" ]]
  cmp "$D/a.lpatch" "$LIVEPATCH_REGISTRY/$BASE/$A.lpatch"
  # installed is not applied
  grows "$P1_ST" old
  run "$LPATCH" auto
  assert_success
  assert_line "process $P1 (loop): applied ${A:0:12} ($LIVEPATCH_REGISTRY/$BASE/$A.lpatch)"
  assert_line "process $P2 (loop): applied ${B:0:12} ($LIVEPATCH_REGISTRY/$BASE/$B.lpatch)"
  assert_line "auto: 2 processes: 4 applied, 0 reverted, 0 failed"
  grows "$P1_ST" new2
  grows "$P2_ST" new2
  [[ $(field "$P1_ST" bad) == 0 && $(field "$P2_ST" bad) == 0 ]]
  run "$LPATCH" list --json "$P2"
  [[ $(jq -r '[.patches[].id] | join(" ")' <<<"$output") == "$A $B" ]]
}

@test "install and auto again: nothing to do, and each says so" {
  start_loop P1
  "$LPATCH" install "$D/a.lpatch" "$D/b.lpatch"
  run "$LPATCH" install "$D/b.lpatch"
  assert_success
  assert_output "$D/b.lpatch: already installed: ${B:0:12} in $LIVEPATCH_REGISTRY/$BASE (nothing to do)"
  "$LPATCH" auto
  grows "$P1_ST" new2
  run "$LPATCH" auto
  assert_success
  assert_output "auto: nothing to do: 1 process up to date"
  run "$LPATCH" auto --json
  assert_success
  jq -e --argjson p "$P1" '.applied == 0 and .reverted == 0 and .failed == 0 and .dry_run == false
    and (.processes[] | select(.pid == $p) | .result == "unchanged" and .actions == [])' <<<"$output"
}

@test "remove the newest patch: auto reverts it in every process" {
  start_loop P1
  start_loop P2
  "$LPATCH" install "$D/a.lpatch" "$D/b.lpatch"
  "$LPATCH" auto
  grows "$P2_ST" new2
  run "$LPATCH" remove "${B:0:8}"
  assert_success
  assert_line "removed ${B:0:12} from $LIVEPATCH_REGISTRY/$BASE"
  [[ ! -e $LIVEPATCH_REGISTRY/$BASE/$B.lpatch ]]
  grep -qx "$B" "$LIVEPATCH_REGISTRY/$BASE/removed"
  [[ $(statuses "$P1") == "applied removed" ]]
  run "$LPATCH" auto --dry-run
  assert_success
  assert_line "process $P1 (loop): would revert ${B:0:12} (removed)"
  grows "$P1_ST" new2 # the dry run changed nothing
  run "$LPATCH" auto --json
  assert_success
  jq -e --argjson p "$P1" --arg b "$B" '.reverted == 2 and (.processes[] | select(.pid == $p) |
    .result == "changed" and .actions == [{"action":"revert","patch":$b,"status":"done"}])' \
    <<<"$output"
  grows "$P1_ST" new1
  grows "$P2_ST" new1
  run "$LPATCH" list --json "$P1"
  [[ $(jq -r '[.patches[].id] | join(" ")' <<<"$output") == "$A" ]]
  # installed again, applied again
  "$LPATCH" install "$D/b.lpatch"
  run grep -qx "$B" "$LIVEPATCH_REGISTRY/$BASE/removed"
  assert_failure
  "$LPATCH" auto
  grows "$P1_ST" new2
}

@test "remove refuses a patch a later one stacks on; --force removes both" {
  start_loop P1
  "$LPATCH" install "$D/a.lpatch" "$D/b.lpatch"
  "$LPATCH" auto
  run "$LPATCH" remove "$D/a.lpatch"
  assert_failure 1
  assert_output "lpatch: remove ${A:0:12}: patch ${B:0:12}, installed later, stacks on it; remove it first, or use --force to remove it too"
  [[ -e $LIVEPATCH_REGISTRY/$BASE/$A.lpatch ]]
  run "$LPATCH" remove --force "$D/a.lpatch"
  assert_success
  assert_line "removed ${B:0:12} from $LIVEPATCH_REGISTRY/$BASE (it stacked on the patch removed)"
  assert_line "removed ${A:0:12} from $LIVEPATCH_REGISTRY/$BASE"
  run "$LPATCH" remove "$D/a.lpatch"
  assert_success
  assert_output "$D/a.lpatch: not installed in $LIVEPATCH_REGISTRY (nothing to remove)"
  run "$LPATCH" auto
  assert_success
  assert_line "auto: 1 process: 0 applied, 2 reverted, 0 failed"
  grows "$P1_ST" old
  run "$LPATCH" list "$P1"
  assert_output --partial "0 patches"
}

@test "a process started after install is patched by the next auto" {
  start_loop P1
  "$LPATCH" install "$D/a.lpatch" "$D/b.lpatch"
  "$LPATCH" auto
  start_loop P2
  [[ $(statuses "$P2") == "pending pending" ]]
  run "$LPATCH" auto
  assert_success
  assert_line "auto: 2 processes: 2 applied, 0 reverted, 0 failed"
  refute_line --partial "process $P1 "
  grows "$P2_ST" new2
}

@test "status: per process, module and build-id, pending then applied, and unregistered patches" {
  start_loop P1
  run "$LPATCH" status
  assert_success
  assert_output "status: no process maps a module with patches installed in $LIVEPATCH_REGISTRY"
  "$LPATCH" install "$D/a.lpatch" "$D/b.lpatch"
  run "$LPATCH" status --json "$P1"
  assert_success
  jq -e --argjson p "$P1" --arg base "$BASE" --arg a "$A" --arg b "$B" --arg reg "$LIVEPATCH_REGISTRY" '
    .registry == $reg and (.processes | length) == 1 and .processes[0].pid == $p
    and .processes[0].comm == "loop" and .processes[0].unregistered == []
    and (.processes[0].modules | length) == 1
    and (.processes[0].modules[0] | .build_id == $base and .chain == $base
         and (.path | endswith("/loop"))
         and .patches == [{"id":$a,"status":"pending","reason":"applicable"},
                          {"id":$b,"status":"pending","reason":("after " + $a[0:12] + ", not applied yet")}])' \
    <<<"$output"
  run "$LPATCH" status
  assert_success
  assert_line "process $P1 (loop)"
  assert_line "    ${A:0:12}  pending: applicable"
  "$LPATCH" auto
  [[ $(statuses "$P1") == "applied applied" ]]
  # a patch applied by hand is not the registry's
  mkpatch "$BATS_TEST_TMPDIR/o.lpatch" "$D/loop" "other=$OTHER_107"
  "$LPATCH" apply "$P1" "$BATS_TEST_TMPDIR/o.lpatch"
  run "$LPATCH" status --json "$P1"
  jq -e --arg o "$(id_of "$BATS_TEST_TMPDIR/o.lpatch")" \
    '.processes[0].unregistered | length == 1 and .[0].id == $o and (.[0].module | endswith("/loop"))' \
    <<<"$output"
  # auto leaves it alone
  run "$LPATCH" auto
  assert_output "auto: nothing to do: 1 process up to date"
  run "$LPATCH" status 999999999
  assert_failure 2
}

@test "install refuses a patch that does not stack, naming it and why" {
  "$LPATCH" install "$D/a.lpatch" "$D/b.lpatch"
  run "$LPATCH" install "$D/branch.lpatch"
  assert_failure 1
  assert_output --partial "install $D/branch.lpatch: patch $(id_of "$D/branch.lpatch" | cut -c1-12) does not stack: its old build ${B2:0:12} is the one patch ${A:0:12} leaves, but ${B:0:12} is installed on top of that"
  run "$LPATCH" install "$D/other.lpatch"
  assert_failure 1
  assert_output --partial "does not stack onto the installed patches of"
  assert_output --partial "its old build ${B9:0:12} is neither their base build ${BASE:0:12} nor their newest build ${B3:0:12}"
  # one refused: none of the files given is installed
  run "$LPATCH" install "$D/a.lpatch" "$D/other.lpatch"
  assert_failure 1
  [[ $(grep -vc '^#' "$LIVEPATCH_REGISTRY/$BASE/order") == 2 ]]
  [[ ! -d $LIVEPATCH_REGISTRY/$B9 ]]
  run "$LPATCH" install --force "$D/other.lpatch"
  assert_success
  [[ -s $LIVEPATCH_REGISTRY/$B9/order ]]
}

@test "a manifest (or its directory) installs its patches in its order and is kept" {
  local m=$BATS_TEST_TMPDIR/out
  mkdir -p "$m"
  cp "$D/a.lpatch" "$D/b.lpatch" "$m/"
  cat >"$m/manifest.json" <<EOF
{"livepatch_manifest": 1, "patches": [
  {"id": "$A", "module": "loop", "file": "a.lpatch"},
  {"id": "$B", "module": "loop", "file": "b.lpatch"}], "unchanged": []}
EOF
  run "$LPATCH" install --json "$m"
  assert_success
  jq -e --arg a "$A" --arg b "$B" --arg base "$BASE" '[.patches[] | [.id, .chain, .position, .status]]
    == [[$a, $base, 1, "installed"], [$b, $base, 2, "installed"]]' <<<"$output"
  cmp "$m/manifest.json" "$LIVEPATCH_REGISTRY/$BASE/$B.manifest.json"
  # a manifest whose id does not match the file
  sed -i "s/$A/$B/" "$m/manifest.json"
  rm -rf "$LIVEPATCH_REGISTRY"
  run "$LPATCH" install "$m/manifest.json"
  assert_failure 2
  assert_output "lpatch: $m/a.lpatch: patch $A, but manifest $m/manifest.json lists it as $B"
}

@test "signatures: refused at install, and at auto when a registry file was changed" {
  mkdir -p "$LIVEPATCH_KEYS_DIR"
  cp "$D/ops.pub" "$LIVEPATCH_KEYS_DIR/"
  cp "$D/a.lpatch" "$D/b.lpatch" "$BATS_TEST_TMPDIR/"
  local a=$BATS_TEST_TMPDIR/a.lpatch b=$BATS_TEST_TMPDIR/b.lpatch
  run "$LPATCH" install "$a"
  assert_failure 1
  assert_output "lpatch: $a: refused: unsigned (no .sig; $LIVEPATCH_KEYS_DIR requires signatures)"
  [[ ! -e $LIVEPATCH_REGISTRY/$BASE ]]
  "$LPATCH" sign --key "$D/ops.sec" "$a" "$b" >/dev/null
  run "$LPATCH" install "$a" "$b"
  assert_success
  cmp "$a.sig" "$LIVEPATCH_REGISTRY/$BASE/$A.lpatch.sig"
  start_loop P1
  local before
  before=$(maps_of "$P1")
  # the installed file changed afterwards: a byte appended
  printf x >>"$LIVEPATCH_REGISTRY/$BASE/$A.lpatch"
  run "$LPATCH" auto
  assert_failure 1
  assert_line --partial "lpatch: auto: process $P1 (loop): $LIVEPATCH_REGISTRY/$BASE/$A.lpatch: refused: bad signature: $LIVEPATCH_REGISTRY/$BASE/$A.lpatch.sig does not match the file"
  assert_line "auto: 1 process: 0 applied, 0 reverted, 1 failed"
  grows "$P1_ST" old
  [[ $(field "$P1_ST" new1) == 0 ]]
  [[ $(maps_of "$P1") == "$before" ]]
  run "$LPATCH" status --json "$P1"
  jq -e '.processes[0].modules[0].patches[0] | .status == "refused" and (.reason | contains("bad signature"))' <<<"$output"
}

@test "a process that exits during auto is not a failure, and auto says so" {
  start_loop P1
  start_loop P2
  "$LPATCH" install "$D/a.lpatch"
  # lpatch's test hook: the target is SIGKILLed at the first step of the first apply
  run env LPATCH_TEST_KILL_TARGET_AT=1 "$LPATCH" auto --json
  assert_success
  local gone
  gone=$(jq -r '.processes[] | select(.result == "exited") | .pid' <<<"$output")
  [[ $gone == "$P1" || $gone == "$P2" ]]
  jq -e '.exited == 1 and .failed == 0 and .applied == 1
    and (.processes[] | select(.result == "exited") | .actions[0].status == "exited")' <<<"$output"
  start_loop P3
  run env LPATCH_TEST_KILL_TARGET_AT=1 "$LPATCH" auto
  assert_success
  assert_line --regexp "^process [0-9]+ \(loop\): exited meanwhile \(not a failure\)$"
}

@test "usage errors exit 2" {
  run "$LPATCH" install
  assert_failure 2
  run "$LPATCH" auto 1234
  assert_failure 2
  assert_output "lpatch: auto: takes no operands"
  run "$LPATCH" remove zz
  assert_failure 2
  assert_output --partial "is neither a patch id (4 to 32 hex digits) nor a file"
  run "$LPATCH" status --force
  assert_failure 2
  run "$LPATCH" install "$BATS_TEST_TMPDIR/missing.lpatch"
  assert_failure 2
  assert_output --partial "missing.lpatch"
}
