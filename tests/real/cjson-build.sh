#!/usr/bin/env bash
# cjson-build.sh MODE TREE - build cJSON 1.7.15's shared libraries in TREE
# with its own CMake build, one of two ways:
#
#   cmake   what an upstream user does: `cmake ..; make` in build/, no build
#           type, so no -O at all (-O0), plus -DENABLE_CJSON_UTILS=On (the
#           cJSON_Utils library, which CVE-2025-57052 fixes).
#   debian  what debian/rules (`dh $@ --buildsystem=cmake`) does for
#           libcjson1: CMAKE_BUILD_TYPE=None with dpkg-buildflags' CFLAGS
#           (hardening=+all, CPPFLAGS added as debhelper does) and LDFLAGS,
#           in obj-<multiarch>/; no cJSON_Utils.
#
# Tests and fuzzers are off (not part of the libraries).  The compiler is
# $CC (make livepatch puts gcc + plugin + its flags there); cmake records it.
# Result: build/libcjson.so.1.7.15 (and build/libcjson_utils.so.1.7.15) or
# obj-<multiarch>/libcjson.so.1.7.15.  Made to be LIVEPATCH_BUILD.
set -euo pipefail
die() { echo "cjson-build: $*" >&2; exit 2; }
[[ $# == 2 ]] || die "usage: cjson-build.sh cmake|debian TREE"
mode=$1
tree=$(cd "$2" && pwd) || die "no tree $2"
[[ -f $tree/cJSON.c && -f $tree/CMakeLists.txt ]] || die "$tree is not a cJSON source tree"
command -v cmake >/dev/null || die "cmake not found (apt-get install cmake)"

case $mode in
  cmake)
    dir=$tree/build
    args=(-DENABLE_CJSON_UTILS=On -DENABLE_CJSON_TEST=Off)
    ;;
  debian)
    command -v dpkg-buildflags >/dev/null || die "dpkg-buildflags not found (apt-get install dpkg-dev)"
    dir=$tree/obj-$(dpkg-architecture -qDEB_HOST_MULTIARCH)
    export DEB_BUILD_MAINT_OPTIONS=hardening=+all
    CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
    LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
    export CFLAGS LDFLAGS
    args=(-DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=None -DENABLE_CJSON_TEST=Off
          "-DCMAKE_INSTALL_LIBDIR=lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)")
    ;;
  *) die "unknown mode '$mode' (cmake or debian)" ;;
esac

# Configured once per tree: make livepatch keeps generated files between
# runs and copies in only the sources that changed.
mkdir -p "$dir"
if [[ ! -f $dir/Makefile ]]; then
  (cd "$dir" && cmake "${args[@]}" "$tree") >"$tree/cmake-$mode.log" 2>&1 ||
    die "cmake failed (log: $tree/cmake-$mode.log)"
fi
make -C "$dir"
