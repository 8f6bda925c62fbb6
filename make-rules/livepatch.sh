#!/bin/sh
# livepatch.sh - the driver behind make-rules/livepatch.mk.
#
#   livepatch.sh livepatch     build OLD and NEW, diff every module, write
#                              .lpatch files, reports and manifest.json
#                              (with LP_SIGN_KEY: each signed, FILE.sig)
#   livepatch.sh build REV     build one revision; print its build directory
#
# livepatch.mk passes everything through LP_* environment variables (see
# there); this file is installed next to it.  Plain POSIX sh plus git, jq,
# readelf, sha256sum, and lpatch (LP_LPATCH) to read the patch header.
set -eu

me=livepatch
# The collect2 that keeps one-step builds' objects, installed next to us.
keep_objects=$(cd "$(dirname "$0")" && pwd)/keep-objects

say() { printf '%s: %s\n' "$me" "$*"; }
# LIVEPATCH_DIR may be relative to the project or absolute.
abs_path() { case $1 in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$(pwd)" "$1" ;; esac; }
die() {
    printf '%s: error: %s\n' "$me" "$*" >&2
    exit 2
}

# ---- Revisions -----------------------------------------------------------

# A directory name for REV: "v1" stays "v1", "release/1.0" becomes
# "release_1.0", "../x" becomes ".._x".
rev_name() {
    printf '%s' "${1%/}" | tr '/ ' '__'
}

# rev_kind REV: "dir" when REV is a directory, "git" when it names a commit
# of the repository around the current directory; dies otherwise.
rev_kind() {
    if [ -d "$1" ]; then
        echo dir
    elif git rev-parse --verify -q "$1^{commit}" >/dev/null 2>&1; then
        echo git
    else
        die "$2=$1: neither a directory nor a git revision of $(pwd)"
    fi
}

# Files of a source directory, relative to it, one per line.  Inside a git
# work tree: tracked and untracked-but-not-ignored files, so build outputs
# the user ignores stay out; elsewhere (or when git ignores the directory
# itself, e.g. a scratch copy under an ignored path): everything but common
# build outputs.
list_dir_sources() {
    if git -C "$1" rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
        ! git -C "$1" check-ignore -q . 2>/dev/null; then
        git -C "$1" ls-files -co --exclude-standard
    else
        (cd "$1" && find . \( -name .git -o -name .livepatch \) -prune -o \
            \( -type f -o -type l \) \
            ! -name '*.o' ! -name '*.a' ! -name '*.so' ! -name '*.so.*' \
            ! -name '*.lo' ! -name '*.la' ! -name '*.d' ! -name '*.lpatch' -print |
            sed 's|^\./||')
    fi
}

# Drop the modules themselves, our own work and output directories: a stale
# binary copied from the user's tree would look up to date to make.
filter_sources() {
    awk -v mods="$LP_MODULES" -v work="${LP_WORK%/}" -v out="${LP_OUT%/}" '
        BEGIN { n = split(mods, m, " "); for (i = 1; i <= n; i++) skip[m[i]] = 1 }
        $0 in skip { next }
        index($0, work "/") == 1 || index($0, out "/") == 1 { next }
        { print }'
}

# sync SRC DST: make DST's sources equal SRC's.  Only files whose content
# differs are copied (and get a new mtime), files gone from SRC are removed,
# build outputs in DST stay: the project's own make stays incremental.
sync_tree() {
    src=$1 dst=$2 list=$2/.livepatch-sources
    mkdir -p "$dst"
    new=$dst/.livepatch-sources.new
    list_dir_sources "$src" | filter_sources | LC_ALL=C sort -u >"$new"
    while IFS= read -r f; do
        [ -e "$src/$f" ] || [ -L "$src/$f" ] || continue
        if [ -L "$src/$f" ] || ! cmp -s "$src/$f" "$dst/$f"; then
            mkdir -p "$dst/$(dirname "$f")"
            rm -f "$dst/$f"
            cp -P "$src/$f" "$dst/$f"
        fi
    done <"$new"
    if [ -f "$list" ]; then
        LC_ALL=C comm -23 "$list" "$new" | while IFS= read -r f; do rm -f "$dst/$f"; done
    fi
    mv "$new" "$list"
}

# The compiler line (COMPILER DIR) for a build in DIR: livepatch.mk's flags
# (LP_FLAGS_TEMPLATE, defined there once) with @DIR@ replaced by DIR.
cc_for() {
    printf '%s %s%s%s' "$1" "${LP_FLAGS_TEMPLATE%%@DIR@*}" "$2" "${LP_FLAGS_TEMPLATE#*@DIR@}"
}

# "VAR=value" as a make command-line word inside MAKEFLAGS: spaces escaped
make_override() {
    printf '%s=%s' "$1" "$2" | sed 's/ /\\ /g'
}

# A tool as given: a name stays a name (PATH; GCC's plugin directory), a
# relative path becomes absolute here, since the builds run elsewhere.
tool_path() {
    case $1 in
    /*) printf '%s' "$1" ;;
    */*) abs_path "$1" ;;
    *) printf '%s' "$1" ;;
    esac
}

check_plugin() {
    LP_PLUGIN=$(tool_path "$LP_PLUGIN")
    case $LP_PLUGIN in
    */*) [ -f "$LP_PLUGIN" ] || die "plugin $LP_PLUGIN not found (build it: make all, or set LIVEPATCH_PLUGIN)" ;;
    esac
}

# A build stopped half-way leaves its tree at the build path: give it back
# to its revision (named in .livepatch-owner), or drop it.
restore_at() {
    [ -d "$at" ] || return 0
    owner=$(cat "$at/.livepatch-owner" 2>/dev/null || true)
    if [ -n "$owner" ] && [ ! -e "$(dirname "$at")/$owner" ]; then
        mv "$at" "$(dirname "$at")/$owner"
    else
        rm -rf "$at"
    fi
}

# build REV VAR STEP TOTAL: bring .livepatch/build/<name> up to date with REV
# and run the project's build there.  Prints nothing on stdout but progress.
build_rev() {
    rev=$1 var=$2
    name=$(rev_name "$rev")
    kind=$(rev_kind "$rev" "$var")
    dir=$(abs_path "$LP_WORK")/build/$name
    [ -x "$keep_objects/collect2" ] ||
        die "$keep_objects/collect2 not found: it is installed next to $0"
    # Every revision is built at one path, its tree moved there for the
    # build: an absolute path that -ffile-prefix-map cannot reach (the
    # build-tree RUNPATH cmake links in) is then the same in every build, so
    # a module the fix does not touch keeps its build-id from one revision
    # to the next, and stacked patches find it.
    at=$(abs_path "$LP_WORK")/build/.at
    restore_at
    say "building $rev ($3/$4)"
    # -B: our collect2 keeps the objects of one-step compile-and-link rules
    # (keep-objects/collect2); the output is the same as LIVEPATCH_CC's.
    cc="$(cc_for "$LP_GCC" "$at") -B$keep_objects/"
    cxx="$(cc_for "$LP_GXX" "$at") -B$keep_objects/"
    plugin_id=$LP_PLUGIN
    [ -f "$LP_PLUGIN" ] && plugin_id=$(sha256sum <"$LP_PLUGIN")
    stamp="cc=$cc
cxx=$cxx
plugin=$plugin_id
build=$LP_BUILD_CMD"
    # Another compiler, plugin or build command: objects are stale, start over.
    if [ -d "$dir" ] && [ "$(cat "$dir/.livepatch-stamp" 2>/dev/null)" != "$stamp" ]; then
        rm -rf "$dir"
    fi
    if [ "$kind" = git ]; then
        commit=$(git rev-parse --verify -q "$rev^{commit}")
        prefix=$(git rev-parse --show-prefix)
        src=$(abs_path "$LP_WORK")/src/$name
        rm -rf "$src" && mkdir -p "$src"
        git archive --format=tar "$commit:$prefix" | tar -x -C "$src" ||
            die "$var=$rev: cannot extract ${prefix:-the tree} at $commit"
        sync_tree "$src" "$dir"
    else
        sync_tree "$rev" "$dir"
    fi
    printf '%s\n' "$stamp" >"$dir/.livepatch-stamp"

    # Keep make's own flags (-j, jobserver, -s) but none of the outer command
    # line: the inner build must not see OLD=, NEW=, LIVEPATCH_*.
    flags=${MAKEFLAGS:-}
    case " $flags" in
    *" -- "*) flags=${flags%%-- *} ;;
    esac
    flags="$flags -- $(make_override CC "$cc") $(make_override CXX "$cxx")"
    log=$dir/.livepatch-build.log
    # The compiler's temporary files in a directory of this build's own:
    # what keep-objects/collect2 copies is exactly the driver's objects.
    tmp=$(abs_path "$LP_WORK")/tmp/$name
    rm -rf "$tmp" && mkdir -p "$tmp"
    collect2=$($LP_GCC -print-prog-name=collect2)
    printf '%s\n' "$name" >"$dir/.livepatch-owner"
    mv "$dir" "$at" || die "cannot move $dir to $at for the build"
    rc=0
    (cd "$at" && CC=$cc CXX=$cxx MAKEFLAGS=$flags SOURCE_DATE_EPOCH=0 TZ=UTC LC_ALL=C \
        TMPDIR=$tmp LP_REAL_COLLECT2=$collect2 sh -c "$LP_BUILD_CMD") >"$at/.livepatch-build.log" 2>&1 ||
        rc=$?
    mv "$at" "$dir" || die "cannot move $at back to $dir"
    rm -rf "$tmp"
    rmdir "$(abs_path "$LP_WORK")/tmp" 2>/dev/null || true
    if [ "$rc" != 0 ]; then
        tail -n 30 "$log" >&2
        die "building $rev failed: '$LP_BUILD_CMD' in $LP_WORK/build/$name (log: $LP_WORK/build/$name/.livepatch-build.log)"
    fi
    [ -n "${LP_VERBOSE:-}" ] && cat "$log" >&2
    for m in $LP_MODULES; do
        [ -f "$dir/$m" ] || die "building $rev did not produce module $m (looked in $LP_WORK/build/$name)"
    done
    built_dir=$LP_WORK/build/$name
}

build_id() {
    readelf -n "$1" 2>/dev/null | awk '/Build ID:/ { print $3; exit }'
}


# ---- Commands --------------------------------------------------------------

cmd_build() {
    [ -n "${1:-}" ] || die "livepatch-build needs REV=DIR|REV"
    check_plugin
    build_rev "$1" REV 1 1 >&2
    echo "$built_dir"
}

# sign FILE: FILE.sig with LP_SIGN_KEY (lpatch sign); its key id in $signed_by.
sign() {
    signed_by=
    [ -n "${LP_SIGN_KEY:-}" ] || return 0
    msg=$("$LP_LPATCH" sign --key "$LP_SIGN_KEY" "$1") || die "$1: lpatch sign failed (LIVEPATCH_SIGN_KEY=$LP_SIGN_KEY)"
    signed_by=$(printf '%s\n' "$msg" | sed -n 's/.* with key \([0-9a-f]*\):.*/\1/p')
    [ -n "$signed_by" ] || die "$1: lpatch sign printed no key id: $msg"
    say "signed ${1##*/} (key $signed_by)"
}

# One JSON object describing a written patch (signed_by: its key id, or "").
patch_entry() { # MODULE PATCHFILE REPORT OLDDIR NEWDIR
    sha=$(sha256sum "$2" | cut -d' ' -f1)
    # The header as lpatch reads it (lpatch_format.h is its only definition).
    info=$("$LP_LPATCH" info --json "$2") || die "$2: lpatch info cannot read it (not a patch file?)"
    id=$(printf '%s' "$info" | jq -r .id)
    old_id=$(build_id "$4/$1") new_id=$(build_id "$5/$1")
    hdr_old=$(printf '%s' "$info" | jq -r .old_build_id)
    hdr_new=$(printf '%s' "$info" | jq -r .new_build_id)
    [ "$hdr_old" = "$old_id" ] || say "warning: $2 names old build-id $hdr_old, $4/$1 has $old_id" >&2
    [ "$hdr_new" = "$new_id" ] || say "warning: $2 names new build-id $hdr_new, $5/$1 has $new_id" >&2
    # the differ's report: changed and added functions
    funcs=$(jq -c '(.changed // []) + (.added // [])' "$3" 2>/dev/null) || funcs='[]'
    jq -n --arg id "$id" --arg mod "$1" --arg file "${2##*/}" --arg report "${3##*/}" \
        --arg sha "$sha" --arg old "$old_id" --arg new "$new_id" \
        --argjson size "$(wc -c <"$2")" --argjson funcs "$funcs" --arg key "$signed_by" \
        '{"id": $id, "module": $mod, "file": $file, "report": $report, "sha256": $sha,
          "size": $size, "old_build_id": $old, "new_build_id": $new, "functions": $funcs}
         + (if $key == "" then {} else {signature: ($file + ".sig"), key_id: $key} end)'
}

rev_json() { # REV BUILDDIR
    commit=
    [ -n "$1" ] && [ ! -d "$1" ] && commit=$(git rev-parse --verify -q "$1^{commit}" 2>/dev/null || true)
    jq -n --arg rev "$1" --arg commit "$commit" --arg build "$2" \
        '{rev: $rev, commit: (if $commit == "" then null else $commit end), build: $build}'
}

cmd_livepatch() {
    [ -n "${LP_MODULES:-}" ] || die "LIVEPATCH_MODULES is empty: name the executables and shared libraries to patch"
    [ -n "${LP_NEW:-}" ] || die "NEW is not set: make livepatch OLD=REV|DIR NEW=REV|DIR"
    [ -n "${LP_OLD:-}${LP_OLD_BUILD:-}" ] || die "OLD is not set: make livepatch OLD=REV|DIR NEW=REV|DIR (or OLD_BUILD=DIR)"
    LP_LPDIFF=$(tool_path "$LP_LPDIFF")
    LP_LPATCH=$(tool_path "${LP_LPATCH:-lpatch}")
    command -v "$LP_LPDIFF" >/dev/null 2>&1 || die "lpdiff not found: $LP_LPDIFF (build it: make all, or set LPDIFF)"
    command -v "$LP_LPATCH" >/dev/null 2>&1 || die "lpatch not found: $LP_LPATCH (build it: make all, or set LPATCH)"
    check_plugin
    if [ -n "${LP_SIGN_KEY:-}" ]; then
        [ -f "$LP_SIGN_KEY" ] && [ -r "$LP_SIGN_KEY" ] ||
            die "LIVEPATCH_SIGN_KEY=$LP_SIGN_KEY: no readable secret key file (make one: lpatch keygen NAME)"
    fi
    if [ -z "${LP_OLD_BUILD:-}" ] && [ "$(rev_name "$LP_OLD")" = "$(rev_name "$LP_NEW")" ]; then
        die "OLD=$LP_OLD and NEW=$LP_NEW would share the build directory $LP_WORK/build/$(rev_name "$LP_NEW")"
    fi

    if [ -n "${LP_OLD_BUILD:-}" ]; then
        [ -d "$LP_OLD_BUILD" ] || die "OLD_BUILD=$LP_OLD_BUILD: no such directory"
        for m in $LP_MODULES; do
            [ -f "$LP_OLD_BUILD/$m" ] || die "OLD_BUILD=$LP_OLD_BUILD has no module $m"
        done
        say "using the build of ${LP_OLD:-OLD} in $LP_OLD_BUILD"
        old_dir=${LP_OLD_BUILD%/}
        build_rev "$LP_NEW" NEW 1 1
        new_dir=$built_dir
    else
        build_rev "$LP_OLD" OLD 1 2
        old_dir=$built_dir
        build_rev "$LP_NEW" NEW 2 2
        new_dir=$built_dir
    fi

    out=${LP_OUT%/}
    mkdir -p "$out"
    rm -f "$out/manifest.json" "$out/manifest.json.sig"
    mkdir -p "$LP_WORK"
    entries=$LP_WORK/manifest.entries
    : >"$entries"
    unchanged='' refused='' npatch=0
    for m in $LP_MODULES; do
        base=$(printf '%s' "$m" | tr '/' '_')
        patch=$out/$base.lpatch report=$out/$base.json
        rm -f "$patch" "$patch.sig" "$report"
        say "diffing $m"
        rc=0
        # LIVEPATCH_LPDIFF_FLAGS: the author's decisions (--accept CODE:NAME,
        # --allow-active FN, --patch-line-changes), split on blanks, never
        # globbed (--accept CODE:*)
        set -f
        # shellcheck disable=SC2086
        if [ -n "${LP_HOOKS:-}" ]; then
            # shellcheck disable=SC2086
            "$LP_LPDIFF" ${LP_LPDIFF_FLAGS:-} --hooks "$LP_HOOKS" \
                --hooks-cflags "-I$new_dir ${LP_HOOKS_CFLAGS:-}" --old "$old_dir" \
                --new "$new_dir" --module "$m" -o "$patch" --report "$report" || rc=$?
        else
            # shellcheck disable=SC2086
            "$LP_LPDIFF" ${LP_LPDIFF_FLAGS:-} --old "$old_dir" --new "$new_dir" --module "$m" \
                -o "$patch" --report "$report" || rc=$?
        fi
        set +f
        case $rc in
        0)
            [ -f "$patch" ] || die "lpdiff reported a patch for $m but wrote no $patch"
            sign "$patch"
            patch_entry "$m" "$patch" "$report" "$old_dir" "$new_dir" >>"$entries"
            say "wrote $patch"
            npatch=$((npatch + 1))
            ;;
        1)
            say "$m: no change"
            rm -f "$patch"
            unchanged="$unchanged $m"
            ;;
        3)
            rm -f "$patch"
            printf '%s: %s: refused by lpdiff (see the messages above)\n' "$me" "$m" >&2
            refused="$refused $m"
            ;;
        *)
            rm -f "$patch"
            die "lpdiff failed on $m (exit $rc)"
            ;;
        esac
    done
    if [ -n "$refused" ]; then
        printf '%s: error: no patch: lpdiff refused%s\n' "$me" "$refused" >&2
        exit 3
    fi

    jq -n --argjson old "$(rev_json "${LP_OLD:-}" "$old_dir")" \
        --argjson new "$(rev_json "$LP_NEW" "$new_dir")" \
        --argjson unchanged "$(jq -n --arg u "$unchanged" '$u | split(" ") | map(select(length > 0))')" \
        --slurpfile patches "$entries" \
        '{livepatch_manifest: 1, old: $old, new: $new, patches: $patches, unchanged: $unchanged}' \
        >"$out/manifest.json.tmp"
    mv "$out/manifest.json.tmp" "$out/manifest.json"
    sign "$out/manifest.json"
    say "$npatch patch(es) in $out/, manifest $out/manifest.json${signed_by:+, signed with key $signed_by}"
}

case ${1:-} in
livepatch) cmd_livepatch ;;
build) cmd_build "${2:-}" ;;
*) die "usage: livepatch.sh livepatch | build REV (run through livepatch.mk)" ;;
esac
