#!/usr/bin/env bats
# Fleet rollout with the Ansible role deploy/ansible/roles/livepatch_rollout
# and its example playbook deploy/ansible/rollout.yml, run by ansible-playbook
# against three hosts that are really separate: all on localhost with a local
# connection, but each with its own registry, keys directory, staging
# directory and running target.  `lpatch auto` scans every process of the
# machine, so each host runs its own build of the target (a tag of its own
# in the program gives it a build-id of its own) and ships its own patch for
# that build: one host's auto never finds another host's process.
#
# Checked: canary first, then the rest, every process patched and reported;
# a second run changes nothing; a host failing its health check is reverted
# and stops the rollout (a later batch is not touched, the canary stays
# patched); an unsigned patch is refused at install on the canary and
# nothing is rolled out.
load ../applier/helpers

HOSTS=(h1 h2 h3)

setup_file() {
  command -v ansible-playbook >/dev/null || {
    echo "ansible-playbook is missing (make deps)" >&2
    return 1
  }
  build_mkpatch
  local d=$BATS_FILE_TMPDIR
  "$LPATCH" keygen --out "$d" ops >/dev/null
  # A configuration of the test's own: no user or system settings, no colour,
  # no network, temporary files under the test's directory.
  cat >"$d/ansible.cfg" <<EOF
[defaults]
host_key_checking = False
nocolor = True
retry_files_enabled = False
interpreter_python = /usr/bin/python3
gathering = explicit
forks = 5
pipelining = True
local_tmp = $d/ansible-tmp
remote_tmp = $d/ansible-tmp
EOF
  export ANSIBLE_CONFIG=$d/ansible.cfg ANSIBLE_HOME=$d/ansible-home
  export ANSIBLE_NOCOLOR=1 ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_FORCE_COLOR=0
  # Tests 1 and 2 share one fleet: the second run is on the first's result.
  fleet "$d/fleet"
}

teardown_file() { stop_fleet "$BATS_FILE_TMPDIR/fleet"; }

teardown() { [[ ! -d $BATS_TEST_TMPDIR/fleet ]] || stop_fleet "$BATS_TEST_TMPDIR/fleet"; }

id_of() { "$LPATCH" info --json "$1" | jq -r .id; }

# fleet DIR [UNHEALTHY-HOST]: per host a build of the service of this
# fleet's own (no other fleet's patch matches it) and its signed patch
# (DIR/ship/H/signed, and unsigned), a registry, keys (the ops key), a
# staging directory and a running service (pid in DIR/H.pid,
# status in DIR/H.st); the inventory DIR/inventory.yml.  A healthy host's
# check: its process runs the patched code and no call went wrong; the
# unhealthy host's check fails.  Every check logs "HOST TIME" to DIR/health.log.
fleet() {
  local dir=$1 bad=${2:-} h pid health
  mkdir -p "$dir"
  {
    echo "livepatch:"
    echo "  vars:"
    echo "    ansible_connection: local"
    echo "    ansible_host: localhost"
    echo "    livepatch_lpatch: $LPATCH"
    echo "    livepatch_report_dir: $dir/report"
    echo "    livepatch_health_delay: 0"
    echo "  hosts:"
  } >"$dir/inventory.yml"
  for h in "${HOSTS[@]}"; do
    # this fleet's own build of the service, and the patch for that build
    printf 'const char fleet_tag[] __attribute__((used)) = "%s %s";\n' "$dir" "$h" >"$dir/tag-$h.c"
    lp_cc "$dir/svc-$h" "$BATS_TEST_DIRNAME/fleet-service.c" "$dir/tag-$h.c"
    mkdir -p "$dir/ship/$h/signed" "$dir/ship/$h/unsigned"
    mkpatch "$dir/ship/$h/signed/fix.lpatch" "$dir/svc-$h" "compute=$COMPUTE_1001"
    "$LPATCH" sign --key "$BATS_FILE_TMPDIR/ops.sec" "$dir/ship/$h/signed/fix.lpatch" >/dev/null
    cp "$dir/ship/$h/signed/fix.lpatch" "$dir/ship/$h/unsigned/"
    mkdir -p "$dir/$h/keys"
    cp "$BATS_FILE_TMPDIR/ops.pub" "$dir/$h/keys/"
    "$dir/svc-$h" "$dir/$h.st" >/dev/null 2>&1 3>&- &
    pid=$!
    echo "$pid" >"$dir/$h.pid"
    wait_until test -s "$dir/$h.st"
    health="echo $h \$(date +%s.%N) >>$dir/health.log; kill -0 $pid && grep -Eq 'new=[1-9][0-9]* bad=0$' $dir/$h.st"
    [[ $h == "$bad" ]] && health="echo $h \$(date +%s.%N) >>$dir/health.log; echo '$h: error rate too high' >&2; exit 1"
    cat >>"$dir/inventory.yml" <<EOF
    $h:
      livepatch_patch_dir: "$dir/ship/$h/{{ patch_set | default('signed') }}"
      livepatch_registry: $dir/$h/reg
      livepatch_keys_dir: $dir/$h/keys
      livepatch_stage_dir: $dir/$h/stage
      livepatch_health_cmd: "$health"
EOF
  done
}

stop_fleet() {
  local f p
  for f in "$1"/*.pid; do
    [[ -f $f ]] || continue
    p=$(cat "$f")
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    rm -f "$f"
  done
}

# rollout DIR [ansible-playbook args]: the example playbook on DIR's fleet,
# its output in DIR/play.log (and in $output, through run).
rollout() {
  local dir=$1
  shift
  ansible-playbook -i "$dir/inventory.yml" "$LP_TOP/deploy/ansible/rollout.yml" "$@" 2>&1 |
    tee "$dir/play.log" | tee -a "$dir/plays.log"
  return "${PIPESTATUS[0]}"
}

pid_of() { cat "$1/$2.pid"; }
applied_ids() { "$LPATCH" list --json "$1" | jq -r '[.patches[].id] | join(" ")'; }
report() { jq -r "$2" "$1/report/$3.json"; }
# The PLAY RECAP line of HOST.
recap() { sed -n '/^PLAY RECAP/,$p' "$1/play.log" | grep -E "^$2 +:"; }

@test "rollout over three healthy hosts: the canary first, then the rest; every process patched and reported" {
  local F=$BATS_FILE_TMPDIR/fleet h id pid
  run rollout "$F"
  assert_success
  # one batch per host (serial [1, "50%"] of 3 hosts is 1, 1, 1): the
  # first PLAY section names the canary only, and it finished first
  run awk '/^PLAY \[/ { n++ } n == 1 && /^(ok|changed|failed|fatal): \[/' "$F/play.log"
  assert_output --partial '[h1]'
  refute_output --partial '[h2]'
  refute_output --partial '[h3]'
  (($(grep -c '^PLAY \[Roll live patches out' "$F/play.log") == 3))
  run cut -d' ' -f1 "$F/health.log"
  assert_output $'h1\nh2\nh3'
  [[ $(report "$F" .finished h1) < $(report "$F" .started h2) ]]
  [[ $(report "$F" .finished h2) < $(report "$F" .started h3) ]]
  for h in "${HOSTS[@]}"; do
    id=$(id_of "$F/ship/$h/signed/fix.lpatch")
    pid=$(pid_of "$F" "$h")
    [[ $(applied_ids "$pid") == "$id" ]]
    grows "$F/$h.st" new
    # only this host's registry holds this host's patch
    [[ -f $(echo "$F/$h/reg"/*/"$id.lpatch") ]]
    [[ -f $(echo "$F/$h/reg"/*/"$id.lpatch.sig") ]]
    run recap "$F" "$h"
    assert_output --regexp 'changed=[1-9][0-9]* .*failed=0'
    [[ $(report "$F" .result "$h") == patched ]]
    [[ $(report "$F" '.installed[] | "\(.id) \(.status) \(.signed)"' "$h") == "$id installed true" ]]
    [[ $(report "$F" '.applied[] | "\(.pid) \(.comm) \(.patches | join(","))"' "$h") == "$pid svc-$h $id" ]]
    [[ $(report "$F" '.processes[] | "\(.pid) \(.patches | join(","))"' "$h") == "$pid $id" ]]
    [[ $(report "$F" .health.rc "$h") == 0 ]]
    grep -q "\"msg\": \"$h: patched; process $pid (svc-$h) has ${id:0:12}\"" "$F/play.log"
  done
  for h in h2 h3; do
    run ls "$F/$h/reg"
    refute_output --partial "$(id_of "$F/ship/h1/signed/fix.lpatch")"
  done
}

@test "a second rollout changes nothing: changed=0 on every host, the patches stay" {
  local F=$BATS_FILE_TMPDIR/fleet h
  [[ -f $F/report/h1.json ]] || rollout "$F" >/dev/null
  run rollout "$F"
  assert_success
  for h in "${HOSTS[@]}"; do
    run recap "$F" "$h"
    assert_output --regexp 'ok=[1-9][0-9]* +changed=0 +unreachable=0 +failed=0'
    [[ $(report "$F" .result "$h") == unchanged ]]
    [[ $(report "$F" '.applied | length' "$h") == 0 ]]
    [[ $(report "$F" '.installed[].status' "$h") == "already installed" ]]
    [[ $(applied_ids "$(pid_of "$F" "$h")") == "$(id_of "$F/ship/$h/signed/fix.lpatch")" ]]
  done
}

@test "a host failing its health check is reverted and stops the rollout; earlier hosts stay patched until taken back" {
  # four hosts: serial [1, "50%"] makes the batches h1 (the canary), h2 h3, h4
  local -a HOSTS=(h1 h2 h3 h4)
  local F=$BATS_TEST_TMPDIR/fleet h id1 id2 id3 id4 p1 p2 p3 p4
  fleet "$F" h2
  for h in "${HOSTS[@]}"; do
    printf -v "id${h#h}" %s "$(id_of "$F/ship/$h/signed/fix.lpatch")"
    printf -v "p${h#h}" %s "$(pid_of "$F" "$h")"
  done
  run rollout "$F"
  assert_failure 2
  assert_output --partial "h2: error rate too high"
  assert_output --partial "livepatch rollout failed on h2 (Run the health check: h2: error rate too high); its patches were reverted"
  # h2: patched, found unhealthy, reverted; its registry no longer has the patch
  run recap "$F" h2
  assert_output --regexp 'failed=1'
  run sort "$F/health.log"
  [[ $(head -1 "$F/health.log" | cut -d' ' -f1) == h1 ]]
  run cut -d' ' -f1 "$F/health.log"
  assert_line h2
  refute_line h4
  [[ -z $(applied_ids "$p2") ]]
  grows "$F/h2.st" old
  [[ ! -e $(echo "$F/h2/reg"/*/"$id2.lpatch") ]]
  grep -qx "$id2" "$F/h2/reg"/*/removed
  [[ $(report "$F" .result h2) == "rolled back" ]]
  [[ $(report "$F" '.applied[] | "\(.pid) \(.patches | join(","))"' h2) == "$p2 $id2" ]]
  [[ $(report "$F" '.reverted[] | "\(.pid) \(.patches | join(","))"' h2) == "$p2 $id2" ]]
  [[ $(report "$F" '.processes[] | "\(.pid) [\(.patches | join(","))]"' h2) == "$p2 []" ]]
  [[ $(report "$F" .health.rc h2) == 1 ]]
  # h1, the canary, and h3, healthy in h2's batch, stay patched
  for h in h1 h3; do
    [[ $(applied_ids "$(pid_of "$F" "$h")") == "$(id_of "$F/ship/$h/signed/fix.lpatch")" ]]
    grows "$F/$h.st" new
    [[ $(report "$F" .result "$h") == patched ]]
  done
  # h4, the next batch, was not touched
  refute_output --partial '[h4]'
  [[ ! -e $F/h4/reg && ! -e $F/h4/stage && ! -e $F/report/h4.json ]]
  [[ -z $(applied_ids "$p4") ]]
  grows "$F/h4.st" old
  # livepatch_state=absent takes the rollout back from every host
  run rollout "$F" -e livepatch_state=absent
  assert_success
  for h in h1 h3; do
    [[ -z $(applied_ids "$(pid_of "$F" "$h")") ]]
    grows "$F/$h.st" old
    [[ $(report "$F" .result "$h") == removed ]]
  done
  [[ ! -e $(echo "$F/h1/reg"/*/"$id1.lpatch") ]]
  [[ $(report "$F" '.reverted[] | "\(.pid) \(.patches | join(","))"' h1) == "$p1 $id1" ]]
  [[ $(report "$F" .result h2) == unchanged && $(report "$F" .result h4) == unchanged ]]
  [[ -z $(applied_ids "$p2") && -z $(applied_ids "$p4") && -n $id3$id4$p3 ]]
}

@test "an unsigned patch with keys configured is refused at install on the canary: nothing is rolled out" {
  local F=$BATS_TEST_TMPDIR/fleet h
  fleet "$F"
  run rollout "$F" -e patch_set=unsigned
  assert_failure 2
  assert_output --partial "fix.lpatch: refused: unsigned"
  assert_output --partial "livepatch rollout failed on h1"
  assert_output --partial "nothing was installed"
  refute_output --partial '[h2]'
  refute_output --partial '[h3]'
  [[ $(report "$F" .result h1) == failed ]]
  [[ $(report "$F" .error h1) == *"refused: unsigned"* ]]
  [[ ! -e $F/report/h2.json && ! -e $F/report/h3.json ]]
  for h in "${HOSTS[@]}"; do
    [[ -z $(applied_ids "$(pid_of "$F" "$h")") ]]
    grows "$F/$h.st" old
    run find "$F/$h" -name '*.lpatch' -path '*/reg/*'
    assert_output ""
  done
}
