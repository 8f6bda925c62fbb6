#!/usr/bin/env bash
# livepatch-ci.sh - the CI step: build live patches for a range of releases.
#
#   livepatch-ci.sh [-o OUT] [-p PUBLISH] [-a ARCHIVE] [-C DIR] FIRST..LAST [MAKEARGS...]
#
# For every release tag from FIRST up to (not including) LAST, in version
# order, runs `make livepatch OLD=<tag> NEW=LAST` in DIR (default: .) and
# writes the patches to OUT/<tag>-to-LAST/ (default OUT: livepatch-out).
# OUT/index.json lists every manifest: what an artifact store or a fleet
# updater reads to find the patch for the release a host runs.
#
#   -a ARCHIVE  reuse archived release builds: ARCHIVE/<tag>/ is passed as
#               OLD_BUILD when it exists, so the patch is made against the
#               bytes that were deployed
#   -p PUBLISH  copy OUT to PUBLISH/LAST/ when done (a mounted artifact store;
#               GitHub Actions and GitLab CI upload OUT themselves)
#   MAKEARGS    passed to make, e.g. LIVEPATCH_MODULES=... or
#               -f /usr/local/share/livepatch/livepatch.mk LIVEPATCH_BUILD='make -C src'
#
# Exit: 0 all patches built (or nothing changed), 3 a change was refused,
# 2 usage or build error.
set -euo pipefail

out=livepatch-out publish='' archive='' dir=.
usage() {
    sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}
die() {
    echo "livepatch-ci: error: $*" >&2
    exit 2
}
while getopts "o:p:a:C:h" opt; do
    case $opt in
    o) out=$OPTARG ;;
    p) publish=$OPTARG ;;
    a) archive=$OPTARG ;;
    C) dir=$OPTARG ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
(($# >= 1)) || { usage >&2; exit 2; }
range=$1
shift
[[ $range == ?*..?* ]] || die "'$range': want a tag range FIRST..LAST"
first=${range%%..*} last=${range##*..}

cd "$dir"
git rev-parse --verify -q "$first^{commit}" >/dev/null || die "$first: no such tag or revision in $(pwd)"
git rev-parse --verify -q "$last^{commit}" >/dev/null || die "$last: no such tag or revision in $(pwd)"
out=$(mkdir -p "$out" && cd "$out" && pwd)

# Releases: tags in version order, from FIRST to just before LAST.
mapfile -t tags < <(git tag --sort=version:refname)
releases=() on=0
for t in "${tags[@]}"; do
    [[ $t == "$first" ]] && on=1
    [[ $t == "$last" ]] && break
    ((on)) && releases+=("$t")
done
((${#releases[@]})) || die "no release tag from $first to before $last"

status=0
manifests=()
for rel in "${releases[@]}"; do
    dest=$out/$rel-to-$last
    echo "livepatch-ci: $rel -> $last"
    args=(livepatch OLD="$rel" NEW="$last" LIVEPATCH_OUT="$dest")
    [[ -n $archive && -d $archive/$rel ]] && args+=(OLD_BUILD="$archive/$rel")
    mkdir -p "$dest"
    if make --no-print-directory "${args[@]}" "$@" 2>&1 | tee "$dest/make.log"; then
        manifests+=("$dest/manifest.json")
    elif grep -q 'refused by lpdiff' "$dest/make.log"; then
        echo "livepatch-ci: $rel -> $last: refused (see $dest/make.log)" >&2
        status=3
    else
        echo "livepatch-ci: $rel -> $last: failed (see $dest/make.log)" >&2
        ((status == 3)) || status=2
    fi
done

# One index for the whole range.
jq -n --arg target "$last" --arg commit "$(git rev-parse "$last^{commit}")" \
    --argjson m "$(for f in "${manifests[@]}"; do
        jq --arg dir "$(basename "$(dirname "$f")")" '. + {dir: $dir}' "$f"
    done | jq -s .)" \
    '{target: $target, commit: $commit, releases: $m}' >"$out/index.json"
echo "livepatch-ci: $((${#manifests[@]})) of ${#releases[@]} release(s) patched, index $out/index.json"

if [[ -n $publish ]]; then
    mkdir -p "$publish/$last"
    cp -R "$out/." "$publish/$last/"
    echo "livepatch-ci: published to $publish/$last"
fi
exit "$status"
