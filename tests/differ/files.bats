#!/usr/bin/env bats
# The files lpdiff writes and reads: the report and the patch replace their
# path atomically and never write through a symlink planted there or at a
# temporary name; OLD and NEW must be two builds, not one module file
# reached from both trees or two copies of one build.
load helpers

@test "--report onto a planted symlink replaces the link, the file it points to is untouched" {
  diff_case statics pie
  assert_success
  echo "precious" >"$T/victim"
  ln -s "$T/victim" "$T/link.json"
  run "$LPDIFF" --old "$T/old" --new "$T/new" --module prog -o "$T/p2.lpatch" \
    --report "$T/link.json"
  assert_success
  [[ $(cat "$T/victim") == precious ]]
  [[ -f $T/link.json && ! -L $T/link.json ]]
  [[ $(jq -r .format "$T/link.json") == 1 ]]
}

@test "the patch writer's temporary file is created, never opened through a symlink at its name" {
  diff_case statics pie
  assert_success
  echo "precious" >"$T/victim"
  # the subshell's pid is lpdiff's after exec: plant the name PATH.tmp.PID
  run bash -c 'ln -s "$1/victim" "$1/out.lpatch.tmp.$BASHPID" &&
    exec "$2" --old "$1/old" --new "$1/new" --module prog -o "$1/out.lpatch"' _ "$T" "$LPDIFF"
  assert_success
  [[ $(cat "$T/victim") == precious ]]
  run "$LPATCH" info "$T/out.lpatch"
  assert_success
  # and no temporary file is left behind
  run find "$T" -maxdepth 1 -name 'out.lpatch.tmp.*' -type f
  assert_output ""
}

@test "a --module path that leaves the trees and names one file from both is refused" {
  diff_case statics pie
  assert_success
  run "$LPDIFF" --old "$T/old" --new "$T/new" --module ../old/prog -o "$T/same.lpatch"
  assert_failure 2
  assert_output --regexp "^lpdiff: OLD module .*/old/\.\./old/prog and NEW module .*/new/\.\./old/prog are the same file$"
  [[ ! -e $T/same.lpatch ]]
}

@test "two copies of one build: nothing to patch; a patch forced from them (same build-id) is refused" {
  diff_case nochange pie
  assert_failure 1
  cp -a "$T/old" "$T/copy"
  run "$LPDIFF" --old "$T/old" --new "$T/copy" --module prog -o "$T/same.lpatch"
  assert_failure 1
  assert_output --partial "nothing changed"
  # edit a code byte of add() in the copy's object: the module, and so its
  # build-id, stay the same; accepting the mismatch would make a patch
  local o=$T/copy/x.o id off
  off=$((0x$(readelf -SW "$o" | sed -n 's/.*\] \.text\.add *PROGBITS *[0-9a-f]* \([0-9a-f]*\).*/\1/p')))
  ((off > 0))
  printf '\xcc' | dd of="$o" bs=1 seek=$((off + 20)) conv=notrunc 2>/dev/null
  id=$(jq -r .old_build_id "$T/r.json")
  run "$LPDIFF" --old "$T/old" --new "$T/copy" --module prog -o "$T/same.lpatch" \
    --accept HASH_MISMATCH:add
  assert_failure 2
  assert_output --partial "have the same build-id $id: no patch"
  [[ ! -e $T/same.lpatch ]]
}
