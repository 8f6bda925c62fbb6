#!/usr/bin/env bats
# lpatch's command line: each command accepts only its own options (a usage
# error, exit 2, names the option and the command), an unknown command is a
# usage error, `lpatch CMD --help` / `lpatch help CMD` print that command's
# usage and options only, and every command's own options still work.
load helpers
bats_require_minimum_version 1.5.0 # run --separate-stderr

setup_file() {
  build_mkpatch
  target loop loop.c
  mkpatch "$BATS_FILE_TMPDIR/p1.lpatch" "$BATS_FILE_TMPDIR/loop" "compute=$COMPUTE_1001"
}

setup() {
  start "$BATS_FILE_TMPDIR/loop" 1 "$BATS_TEST_TMPDIR/st"
  wait_until test -s "$BATS_TEST_TMPDIR/st"
}

teardown() { stop_all; }

# The long options a command's --help lists, one a line, sorted.
help_options() {
  "$LPATCH" "$1" --help | grep -oE '^  (-h, )?--[a-z-]+' | sed 's/^ *\(-h, \)\?//' | sort
}

@test "an unknown command is a usage error, also with --help" {
  run --separate-stderr "$LPATCH" nosuch
  assert_failure 2
  [[ $stderr == "lpatch: unknown command 'nosuch'; try 'lpatch --help'" ]]
  [[ -z $output ]]
  run --separate-stderr "$LPATCH" nosuch --help
  assert_failure 2
  [[ $stderr == "lpatch: unknown command 'nosuch'; try 'lpatch --help'" ]]
  [[ -z $output ]]
  run "$LPATCH" help nosuch
  assert_failure 2
  assert_output "lpatch: unknown command 'nosuch'; try 'lpatch --help'"
  run "$LPATCH"
  assert_failure 2
  assert_output "lpatch: missing command; try 'lpatch --help'"
}

@test "an option the command does not take is a usage error naming it" {
  run --separate-stderr "$LPATCH" info --retries 5 "$BATS_FILE_TMPDIR/p1.lpatch"
  assert_failure 2
  [[ -z $output ]]
  # shellcheck disable=SC2154 # set by run --separate-stderr
  [[ ${stderr_lines[0]} == "lpatch info: unknown option '--retries'" ]]
  [[ ${stderr_lines[1]} == "Try 'lpatch info --help'." ]]
  [[ ${#stderr_lines[@]} == 2 ]]
  # after the operands too, and in the --opt=value form
  run "$LPATCH" info "$BATS_FILE_TMPDIR/p1.lpatch" --retries=5
  assert_failure 2
  assert_line --index 0 "lpatch info: unknown option '--retries'"
  run "$LPATCH" revert --allow-active compute "$TPID"
  assert_failure 2
  assert_line --index 0 "lpatch revert: unknown option '--allow-active'"
  run "$LPATCH" list --stats "$TPID"
  assert_failure 2
  assert_line --index 0 "lpatch list: unknown option '--stats'"
  run "$LPATCH" check --timeout 10 "$TPID" "$BATS_FILE_TMPDIR/p1.lpatch"
  assert_failure 2
  assert_line --index 0 "lpatch check: unknown option '--timeout'"
  run "$LPATCH" info --all "$BATS_FILE_TMPDIR/p1.lpatch"
  assert_failure 2
  assert_line --index 0 "lpatch info: unknown option '--all'"
  run "$LPATCH" revert --module "$BATS_FILE_TMPDIR/loop" "$TPID"
  assert_failure 2
  assert_line --index 0 "lpatch revert: unknown option '--module'"
  run "$LPATCH" help --json
  assert_failure 2
  assert_line --index 0 "lpatch help: unknown option '--json'"
  run "$LPATCH" list -x "$TPID"
  assert_failure 2
  assert_line --index 0 "lpatch list: unknown option '-x'"
  # nothing was applied by any of these
  run "$LPATCH" list "$TPID"
  assert_output --partial "0 patches"
}

@test "a missing or unexpected option argument is a usage error" {
  run "$LPATCH" apply "$TPID" "$BATS_FILE_TMPDIR/p1.lpatch" --retries
  assert_failure 2
  assert_line --index 0 "lpatch apply: option '--retries' needs an argument"
  run "$LPATCH" info --json=yes "$BATS_FILE_TMPDIR/p1.lpatch"
  assert_failure 2
  assert_line --index 0 "lpatch info: option '--json' takes no argument"
  run "$LPATCH" apply --al "$TPID" "$BATS_FILE_TMPDIR/p1.lpatch"
  assert_failure 2
  assert_line --index 0 "lpatch apply: ambiguous option '--al'"
}

@test "CMD --help and help CMD print that command's usage and only its options" {
  run --separate-stderr "$LPATCH" apply --help
  assert_success
  [[ -z $stderr ]]
  assert_line --index 0 "usage: lpatch apply [OPTIONS] PID PATCH..."
  assert_output --partial "--allow-active FUNC"
  assert_output --partial "--module PATH"
  assert_output --partial "--retries N"
  refute_output --partial "revert PID"
  run "$LPATCH" info --help
  assert_success
  assert_line --index 0 "usage: lpatch info [OPTIONS] PATCH"
  assert_output --partial "--json"
  refute_output --partial "--retries"
  refute_output --partial "--allow-active"
  local info_help=$output
  run "$LPATCH" help info
  assert_success
  [[ $output == "$info_help" ]]
  run "$LPATCH" info -h
  [[ $output == "$info_help" ]]
  # --help wins over missing operands, and over options the command takes
  run "$LPATCH" revert --json --help
  assert_success
  assert_line --index 0 "usage: lpatch revert [OPTIONS] PID [PATCH-ID]"
  # each command lists exactly the options it accepts
  [[ $(help_options apply | tr '\n' ' ') == "--all --allow-active --backoff --backoff-max --help --json --module --no-fifo --retries --stats --timeout " ]]
  [[ $(help_options revert | tr '\n' ' ') == "--backoff --backoff-max --help --json --no-fifo --retries --stats --timeout " ]]
  [[ $(help_options list | tr '\n' ' ') == "--all --help --json " ]]
  [[ $(help_options check | tr '\n' ' ') == "--allow-active --help --json " ]]
  [[ $(help_options info | tr '\n' ' ') == "--help --json " ]]
  [[ $(help_options help | tr '\n' ' ') == "--help " ]]
}

@test "lpatch --help and lpatch help print the overview of every command" {
  run "$LPATCH" --help
  assert_success
  local cmd
  for cmd in apply revert list check info help; do
    assert_line --regexp "^  $cmd "
  done
  assert_output --partial "'lpatch COMMAND --help'"
  local overview=$output
  run "$LPATCH" help
  assert_success
  [[ $output == "$overview" ]]
  run "$LPATCH" -h
  [[ $output == "$overview" ]]
}

@test "every option of apply and revert still works, before or after the operands" {
  local st=$BATS_TEST_TMPDIR/st p=$BATS_FILE_TMPDIR/p1.lpatch
  run "$LPATCH" apply --json --stats --allow-active compute --retries 3 --backoff 1 \
    --backoff-max 10 --timeout 60000 --no-fifo "$TPID" "$p"
  assert_success
  [[ $(jq -r .status <<<"$output") == applied ]]
  jq -e '.stats.pause_us > 0' <<<"$output"
  grows "$st" new1
  run "$LPATCH" revert "$TPID" --stats --retries=3 --backoff 1 --backoff-max 10 \
    --timeout 60000 --no-fifo
  assert_success
  assert_output --partial "reverted"
  assert_output --regexp "pause [0-9.]+ us"
  grows "$st" old
  run "$LPATCH" revert --json "$TPID"
  assert_failure 1
  [[ $(jq -r .status <<<"$output") == failed ]]
  running "$TPID"
}

@test "every option of list, check and info still works" {
  local p=$BATS_FILE_TMPDIR/p1.lpatch
  run "$LPATCH" check --json --allow-active compute "$TPID" "$p"
  assert_success
  [[ $(jq -r .status <<<"$output") == applicable ]]
  # (apply --all and --module: robust.bats)
  run "$LPATCH" apply --timeout 60000 "$TPID" "$p"
  assert_success
  run "$LPATCH" list "$TPID" --json
  assert_success
  [[ $(jq -r '.patches[0].status' <<<"$output") == applied ]]
  run "$LPATCH" list --all --json
  assert_success
  [[ $(jq -r "select(.pid == $TPID) | .patches | length" <<<"$output") == 1 ]]
  run "$LPATCH" info "$p" --json
  assert_success
  [[ $(jq -r '.functions[0].name' <<<"$output") == compute ]]
  run "$LPATCH" check "$TPID" "$p" --json
  assert_success
  [[ $(jq -r .status <<<"$output") == applied ]]
}
