#!/usr/bin/env bash
# lua-build.sh TREE - build Debian's lua5.4 in TREE the way debian/rules does:
# a libtool script generated from debian/configure.ac (override_dh_auto_configure),
# then `make linux-readline` through Debian's patched Makefiles
# (override_dh_auto_build).  Made to be `make livepatch`'s LIVEPATCH_BUILD.
#
# TREE: sources at some patch level (debsrc --upto N) with Debian's packaging
# directory copied in as TREE/debian.  The compiler: $CC (make livepatch puts
# gcc + plugin + -ffile-prefix-map there), plus Debian's "-std=gnu99"; the
# flags: Debian's own, from dpkg-buildflags inside src/Makefile.
# Results (what Debian ships in lua5.4, liblua5.4-0 and liblua5.4-0's C++ twin):
#   TREE/src/lua5.4                  the interpreter; libtool's "-static" links
#                                    liblua5.4.a into it (no liblua5.4.so needed)
#   TREE/src/.libs/liblua5.4.so.0.0.0
# Not done: dh_auto_install, stripping, packaging.
set -euo pipefail
die() { echo "lua-build: $*" >&2; exit 2; }
[[ $# == 1 ]] || die "usage: lua-build.sh TREE"
tree=$(cd "$1" && pwd) || die "no tree $1"
[[ -f $tree/debian/configure.ac ]] || die "$tree/debian/configure.ac missing (copy Debian's debian/ directory into the tree)"
for tool in autoreconf libtoolize dpkg-buildflags; do
  command -v $tool >/dev/null || die "$tool not found (apt-get install autoconf automake libtool dpkg-dev)"
done

if [[ ! -x $tree/debian/libtool/libtool ]]; then
  rm -rf "$tree/debian/libtool"
  mkdir "$tree/debian/libtool"
  cp "$tree/debian/configure.ac" "$tree/debian/libtool/"
  (cd "$tree/debian/libtool" && LIBTOOLIZE='libtoolize -i' autoreconf -f -i && ./configure --prefix=/usr) \
    >"$tree/debian/libtool.log" 2>&1 || die "libtool set-up failed (log: $tree/debian/libtool.log)"
fi

# Written only when it changes: make must not see a new header on every run.
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
header=$(printf '#ifndef _LUA_DEB_MULTIARCH_\n#define _LUA_DEB_MULTIARCH_\n#define DEB_HOST_MULTIARCH "%s"\n#endif' "$multiarch")
if [[ $(cat "$tree/src/lua5.4-deb-multiarch.h" 2>/dev/null) != "$header" ]]; then
  printf '%s\n' "$header" >"$tree/src/lua5.4-deb-multiarch.h"
fi

# Debian compiles every source a second time with g++ for liblua5.4-c++.so.
# That compiler gets the same flags as CC, so the whole build carries the
# plugin (and the C++ twin library is patchable too).
cc=${CC:-gcc}
if [[ -z ${CXX:-} ]]; then
  read -r cc0 ccrest <<<"$cc"
  case $cc0 in
    *gcc) CXX="${cc0%gcc}g++${ccrest:+ $ccrest}" ;;
    *) CXX=g++ ;;
  esac
fi

# No outer command line's variables (CC is given below, with Debian's
# -std=gnu99), and -j1: Debian's src/Makefile builds liblua5.4.la and
# liblua5.4-c++.la with one two-target rule, which races under -j.
export MAKEFLAGS=
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}
make -j1 -C "$tree" linux-readline MYLIBS= LIBTOOL="$tree/debian/libtool/libtool" \
  CC="$cc -std=gnu99" CXX="$CXX" DEB_HOST_MULTIARCH="$multiarch"
