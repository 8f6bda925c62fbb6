#!/usr/bin/env bats
# make-rules/livepatch.mk: reproducible and incremental revision builds, git
# revisions, foreign projects through make -f, OLD_BUILD, the manifest.
load ../lib/common
load helpers

setup() {
    KV=$BATS_TEST_TMPDIR/kv
    copy_sample kvserver "$KV"
}

teardown() {
    stop_all
}

@test "one revision built in two directories has the same build-id (and the deployed one too)" {
    cp -R "$KV" "$BATS_TEST_TMPDIR/elsewhere"
    run make -s -C "$KV" livepatch-build REV=v1
    assert_success
    assert_line ".livepatch/build/v1"
    run make -s -C "$BATS_TEST_TMPDIR/elsewhere" livepatch-build REV=v1
    assert_success
    a=$(build_id "$KV/.livepatch/build/v1/kvserver")
    b=$(build_id "$BATS_TEST_TMPDIR/elsewhere/.livepatch/build/v1/kvserver")
    assert [ -n "$a" ]
    assert_equal "$a" "$b"
    # the build a user deploys, made in place with $(LIVEPATCH_CC)
    make -s -C "$KV" v1/kvserver
    assert_equal "$(build_id "$KV/v1/kvserver")" "$a"
    # and a different revision is a different module
    make -s -C "$KV" livepatch-build REV=v2 >/dev/null
    refute [ "$(build_id "$KV/.livepatch/build/v2/kvserver")" = "$a" ]
}

@test "revision builds are incremental: unchanged sources rebuild nothing, one edit rebuilds one object" {
    make -s -C "$KV" livepatch-build REV=v1 >/dev/null
    b=$KV/.livepatch/build/v1
    stamps() { stat -c '%n %y' "$b"/main.o "$b"/proto.o "$b"/store.o "$b"/kvserver; }
    before=$(stamps)
    touch "$KV/v1/main.c" # newer, same content: nothing to do
    make -s -C "$KV" livepatch-build REV=v1 >/dev/null
    assert_equal "$(stamps)" "$before"
    echo '/* edited */' >>"$KV/v1/store.c"
    make -s -C "$KV" livepatch-build REV=v1 >/dev/null
    run stamps
    assert_line "$(grep main.o <<<"$before")"
    assert_line "$(grep proto.o <<<"$before")"
    refute_line "$(grep store.o <<<"$before")"
    refute_line "$(grep kvserver <<<"$before")"
}

@test "OLD and NEW may be git revisions: built from the commit, not the work tree" {
    repo=$BATS_TEST_TMPDIR/repo
    mkdir -p "$repo"
    cp "$KV"/v1/* "$repo/"
    git -C "$repo" init -q
    git -C "$repo" -c user.name=t -c user.email=t@t add .
    git -C "$repo" -c user.name=t -c user.email=t@t commit -qm v1
    git -C "$repo" tag rel-1
    cp "$KV"/v2/* "$repo/"
    git -C "$repo" -c user.name=t -c user.email=t@t commit -qam v2
    git -C "$repo" tag rel-2
    echo 'int uncommitted_change;' >>"$repo/store.c"

    run make -s -C "$repo" -f "$LP_MK" livepatch OLD=rel-1 NEW=rel-2 LIVEPATCH_MODULES=kvserver
    assert_success
    assert_line "livepatch: building rel-1 (1/2)"
    assert_line "livepatch: building rel-2 (2/2)"
    run diff "$repo/.livepatch/build/rel-2/store.c" "$KV/v2/store.c"
    assert_success
    run jq -r '.old.commit, .new.commit, .patches[0].module' "$repo/livepatch/manifest.json"
    assert_line --index 0 "$(git -C "$repo" rev-parse rel-1)"
    assert_line --index 1 "$(git -C "$repo" rev-parse rel-2)"
    assert_line --index 2 "kvserver"
}

@test "a foreign project: make -f livepatch.mk with LIVEPATCH_BUILD, its Makefile untouched" {
    p=$BATS_TEST_TMPDIR/foreign
    for v in old new; do
        mkdir -p "$p/$v/src"
        # CC hard-coded: the plugin must still reach the compiler
        printf 'CC = gcc\nprog: prog.o\n\t$(CC) -o $@ prog.o\nprog.o: prog.c\n\t$(CC) -O2 -c prog.c\n' \
            >"$p/$v/src/Makefile"
    done
    printf 'int step(int x) { return x + 1; }\nint main(void) { return step(0) - 1; }\n' >"$p/old/src/prog.c"
    printf 'int step(int x) { return x + 2; }\nint main(void) { return step(0) - 2; }\n' >"$p/new/src/prog.c"

    run make -C "$p" -s -f "$LP_MK" livepatch OLD=old NEW=new \
        LIVEPATCH_BUILD='make -C src' LIVEPATCH_MODULES=src/prog
    assert_success
    assert [ -f "$p/livepatch/src_prog.lpatch" ]
    run "$LPDIFF" --list "$p/.livepatch/build/new/src/prog"
    assert_success
    assert_output --partial "step"
    run jq -r '.patches[0].module, (.patches[0].functions | index("step") != null)' "$p/livepatch/manifest.json"
    assert_output $'src/prog\ntrue'
}

@test "OLD_BUILD reuses the archived build of the deployed release" {
    make -s -C "$KV" livepatch-build REV=v1 >/dev/null
    cp -R "$KV/.livepatch/build/v1" "$BATS_TEST_TMPDIR/archive-v1"
    rm -rf "$KV/.livepatch"
    run make -s -C "$KV" livepatch OLD_BUILD="$BATS_TEST_TMPDIR/archive-v1" NEW=v2
    assert_success
    assert_line --partial "using the build of OLD in $BATS_TEST_TMPDIR/archive-v1"
    assert_line "livepatch: building v2 (1/1)"
    refute [ -d "$KV/.livepatch/build/v1" ]
    run jq -r '.patches[0].old_build_id' "$KV/livepatch/manifest.json"
    assert_output "$(build_id "$BATS_TEST_TMPDIR/archive-v1/kvserver")"
}

@test "manifest.json: patch id, module, build-ids, sha256 and functions of each patch" {
    run make -s -C "$KV" livepatch OLD=v1 NEW=v2
    assert_success
    m=$KV/livepatch/manifest.json
    run jq -r '.patches | length' "$m"
    assert_output 1
    run jq -r '.patches[0] | .module, .file, .sha256' "$m"
    assert_line --index 0 kvserver
    assert_line --index 1 kvserver.lpatch
    assert_line --index 2 "$(sha256sum "$KV/livepatch/kvserver.lpatch" | cut -d' ' -f1)"
    id=$(jq -r '.patches[0].id' "$m")
    assert_regex "$id" '^[0-9a-f]{32}$'
    run "$LPATCH" info "$KV/livepatch/kvserver.lpatch"
    assert_success
    assert_output --partial "$id"
    run jq -r '.patches[0].functions[]' "$m"
    assert_line kv_range
    refute_line main
}

@test "usage errors name what is wrong" {
    run make -s -C "$KV" livepatch NEW=v2
    assert_failure
    assert_output --partial "OLD is not set"
    run make -s -C "$KV" livepatch OLD=nosuch NEW=v2
    assert_failure
    assert_output --partial "OLD=nosuch: neither a directory nor a git revision"
    run make -s -C "$KV" livepatch OLD=v1 NEW=v2 LIVEPATCH_MODULES=kvserverd
    assert_failure
    assert_output --partial "building v1 did not produce module kvserverd"
    run make -s -C "$KV" livepatch OLD=v1 NEW=v2 LIVEPATCH_PLUGIN=/nonexistent/livepatch.so
    assert_failure
    assert_output --partial "plugin /nonexistent/livepatch.so not found"
}

@test "including livepatch.mk leaves the project's default goal alone" {
    run make -s -C "$KV" -n
    assert_success
    assert_output --partial "kvclient"
    refute_output --partial "livepatch.sh"
}

@test "installed livepatch.mk uses the installed tools: -fplugin=livepatch and lpdiff from PATH" {
    share=$BATS_TEST_TMPDIR/share/livepatch
    mkdir -p "$share" "$BATS_TEST_TMPDIR/bin" "$BATS_TEST_TMPDIR/plugins"
    cp -R "$LP_MK" "$LP_TOP/make-rules/livepatch.sh" "$LP_TOP/make-rules/keep-objects" "$share/" # what make install does
    ln -s "$LPDIFF" "$BATS_TEST_TMPDIR/bin/lpdiff"
    ln -s "$LP_PLUGIN" "$BATS_TEST_TMPDIR/plugins/livepatch.so"
    cd "$KV"
    run env -u LIVEPATCH_PLUGIN make -s -f "$share/livepatch.mk" livepatch-cc
    assert_output "gcc -fplugin=livepatch -g -gno-record-gcc-switches -ffile-prefix-map=$KV=. -Wl,--build-id=sha1"
    # GCC's plugin directory stands in for the installed one
    run env -u LIVEPATCH_PLUGIN -u LPDIFF PATH="$BATS_TEST_TMPDIR/bin:$PATH" \
        make -s -f "$share/livepatch.mk" livepatch OLD=v1 NEW=v2 LIVEPATCH_MODULES=kvserver \
        LIVEPATCH_GCC="gcc -iplugindir=$BATS_TEST_TMPDIR/plugins"
    assert_success
    assert [ -f "$KV/livepatch/kvserver.lpatch" ]
}

@test "a source directory git ignores is still copied whole" {
    repo=$BATS_TEST_TMPDIR/repo
    mkdir -p "$repo/scratch"
    git -C "$repo" init -q
    echo 'scratch/' >"$repo/.gitignore"
    cp -R "$KV/v1" "$repo/scratch/v1"
    run make -s -C "$repo" -f "$LP_MK" livepatch-build REV=scratch/v1 LIVEPATCH_MODULES=kvserver
    assert_success
    assert_line ".livepatch/build/scratch_v1"
    assert [ -x "$repo/.livepatch/build/scratch_v1/kvserver" ]
}

@test "C++ sources get the plugin too, through CXX" {
    p=$BATS_TEST_TMPDIR/cxx
    mkdir -p "$p/old" "$p/new"
    printf 'CXX = g++\nprog: p.o\n\t$(CXX) -o $@ p.o\np.o: p.cc\n\t$(CXX) -O2 -c p.cc\n' >"$p/old/Makefile"
    cp "$p/old/Makefile" "$p/new/"
    printf 'int step(int x) { return x + 1; }\nint main() { return step(0) - 1; }\n' >"$p/old/p.cc"
    printf 'int step(int x) { return x + 2; }\nint main() { return step(0) - 2; }\n' >"$p/new/p.cc"
    run make -C "$p" -s -f "$LP_MK" livepatch OLD=old NEW=new LIVEPATCH_MODULES=prog
    assert_success
    run jq -r '.patches[0].functions[]' "$p/livepatch/manifest.json"
    assert_line _Z4stepi
}

@test "an absolute LIVEPATCH_DIR outside the project holds the builds, nothing lands in the project" {
    work=$BATS_TEST_TMPDIR/elsewhere-work
    run make -s -C "$KV" livepatch OLD=v1 NEW=v2 LIVEPATCH_DIR="$work"
    assert_success
    assert [ -x "$work/build/v1/kvserver" ]
    assert [ -f "$KV/livepatch/kvserver.lpatch" ]
    assert [ ! -e "$KV/.livepatch" ]
    run find "$KV" -path "*${work#/}*"
    assert_output ""
}

@test "a module that embeds its build directory (a build-tree RUNPATH) keeps its build-id across revisions it does not change" {
    p=$BATS_TEST_TMPDIR/rpath
    for v in old new; do
        mkdir -p "$p/$v"
        # like cmake: the program's RUNPATH names the build tree, absolutely
        printf 'all: libu.so prog\nlibu.so: u.o\n\t$(CC) -shared -Wl,-rpath,$(CURDIR) -o $@ u.o\nu.o: u.c\n\t$(CC) -O2 -fPIC -c u.c\nprog: p.o libu.so\n\t$(CC) -o $@ p.o -L. -lu -Wl,-rpath,$(CURDIR)\np.o: p.c\n\t$(CC) -O2 -c p.c\n' \
            >"$p/$v/Makefile"
        printf 'int util(int x) { return x * 3; }\n' >"$p/$v/u.c"
    done
    printf 'int util(int);\nint step(int x) { return util(x) + 1; }\nint main(void) { return step(0) - 1; }\n' >"$p/old/p.c"
    printf 'int util(int);\nint step(int x) { return util(x) + 2; }\nint main(void) { return step(0) - 2; }\n' >"$p/new/p.c"
    run make -C "$p" -s -f "$LP_MK" livepatch OLD=old NEW=new LIVEPATCH_MODULES='prog libu.so'
    assert_success
    assert_output --partial "libu.so: no change"
    assert_equal "$(build_id "$p/.livepatch/build/old/libu.so")" "$(build_id "$p/.livepatch/build/new/libu.so")"
    run readelf -d "$p/.livepatch/build/old/prog"
    assert_output --partial "/.livepatch/build/.at]"
    # every tree is back under its own name
    assert [ ! -e "$p/.livepatch/build/.at" ]
    assert [ -f "$p/.livepatch/build/old/.livepatch-build.log" ]
}

@test "a build stopped half-way leaves its tree at the build path; the next run gives it back" {
    p=$BATS_TEST_TMPDIR/stopped
    for v in old new; do
        mkdir -p "$p/$v"
        printf 'prog: p.c\n\t$(CC) -O2 -c p.c -o p.o\n\t$(CC) -o prog p.o\n' >"$p/$v/Makefile"
    done
    printf 'int step(int x) { return x + 1; }\nint main(void) { return step(0) - 1; }\n' >"$p/old/p.c"
    printf 'int step(int x) { return x + 2; }\nint main(void) { return step(0) - 2; }\n' >"$p/new/p.c"
    run make -C "$p" -s -f "$LP_MK" livepatch OLD=old NEW=new LIVEPATCH_MODULES=prog
    assert_success
    # as if make livepatch had been killed during NEW's build
    mv "$p/.livepatch/build/new" "$p/.livepatch/build/.at"
    run make -C "$p" -s -f "$LP_MK" livepatch OLD=old NEW=new LIVEPATCH_MODULES=prog
    assert_success
    assert [ ! -e "$p/.livepatch/build/.at" ]
    assert [ -f "$p/.livepatch/build/new/prog" ]
    assert [ -f "$p/livepatch/prog.lpatch" ]
}

# one_step_project DIR SRC...: OLD and NEW of a foreign project whose Makefile
# compiles and links in one step ($(CC) -o prog SRC...); prog prints step(1)
# every 20 ms.  NEW's step (in the last SRC) adds 2 instead of 1.
one_step_project() {
    local p=$1 v f
    shift
    for v in old new; do
        mkdir -p "$p/$v"
        printf 'prog: %s\n\t$(CC) -O2 -g -o prog %s\n' "$*" "$*" >"$p/$v/Makefile"
        for f in "$@"; do
            mkdir -p "$p/$v/$(dirname "$f")"
            printf 'int helper_%s(void) { return 0; }\n' "$(echo "$f" | tr -c 'a-z\n' _)" >"$p/$v/$f"
        done
        cat >>"$p/$v/$1" <<'C'
#include <stdio.h>
#include <unistd.h>
int step(int x);
int main(void) { for (;;) { printf("%d\n", step(1)); fflush(stdout); usleep(20000); } }
C
    done
    last=${!#}
    echo '__attribute__((noinline)) int step(int x) { return x + 1; }' >>"$p/old/$last"
    echo '__attribute__((noinline)) int step(int x) { return x + 2; }' >>"$p/new/$last"
}

# live_one_step DIR: make livepatch on it; nothing lands in old/ or new/; the
# OLD build the user deploys (make with livepatch-cc) takes the patch, its
# output switches from 2 to 3 and back on revert.
live_one_step() {
    local p=$1
    run make -C "$p" -s -f "$LP_MK" livepatch OLD=old NEW=new LIVEPATCH_MODULES=prog
    assert_success
    run jq -r '.patches[0].functions[]' "$p/livepatch/manifest.json"
    assert_output step
    run find "$p/old" "$p/new" -type f ! -name Makefile ! -name '*.c'
    assert_output ""
    make -s -C "$p/old" CC="$(make -s -C "$p/old" -f "$LP_MK" livepatch-cc)"
    assert_equal "$(build_id "$p/old/prog")" "$(build_id "$p/.livepatch/build/old/prog")"
    start_bg prog "$p/old/prog"
    wait_for "$BATS_TEST_TMPDIR/prog.log" '^2$'
    run "$LPATCH" apply "$(bg_pid prog)" "$p/livepatch/prog.lpatch"
    assert_success
    : >"$BATS_TEST_TMPDIR/prog.log"
    wait_for "$BATS_TEST_TMPDIR/prog.log" '^3$'
    run "$LPATCH" revert "$(bg_pid prog)"
    assert_success
    : >"$BATS_TEST_TMPDIR/prog.log"
    wait_for "$BATS_TEST_TMPDIR/prog.log" '^2$'
}

@test "a Makefile that compiles and links in one step (\$(CC) -o prog main.c): patched live" {
    one_step_project "$BATS_TEST_TMPDIR/one" main.c
    live_one_step "$BATS_TEST_TMPDIR/one"
}

@test "one step over several sources, two of one name (\$(CC) -o prog main.c a/u.c b/u.c): patched live" {
    one_step_project "$BATS_TEST_TMPDIR/several" main.c a/u.c b/u.c
    live_one_step "$BATS_TEST_TMPDIR/several"
    # an unchanged rebuild keeps the kept objects: incremental as before
    run make -C "$BATS_TEST_TMPDIR/several" -s -f "$LP_MK" livepatch OLD=old NEW=new LIVEPATCH_MODULES=prog
    assert_success
}
