# Shared set-up for every bats suite: load bats-support/bats-assert and name
# the tools under test.  tests/run.sh exports LP_TOP, LPDIFF, LPATCH, LP_PLUGIN,
# LP_CACHE.
bats_load_library bats-support
bats_load_library bats-assert

: "${LP_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${LPDIFF:=$LP_TOP/build/san/bin/lpdiff}"
: "${LPATCH:=$LP_TOP/build/san/bin/lpatch}"
: "${LP_PLUGIN:=$LP_TOP/build/livepatch.so}"
# Downloaded sources and their builds: kept by `make clean` (not under build/).
: "${LP_CACHE:=$LP_TOP/.cache}"
# The project's own fetcher of pinned Debian source packages.
export DEBSRC=$LP_TOP/tests/real/debsrc
export LP_TOP LPDIFF LPATCH LP_PLUGIN LP_CACHE
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

# Compile with the plugin: lp_cc OUT SRC... [flags]
lp_cc() {
  local out=$1; shift
  gcc -fplugin="$LP_PLUGIN" -O2 -o "$out" "$@"
}
