#!/usr/bin/env bash
# expat-build.sh TREE - build Debian 12's libexpat.so in TREE the way
# debian/rules does for the libexpat1 package: ./buildconf.sh in the
# sources (config-common-stamp), ../expat/configure in a separate build/
# directory with dpkg-buildflags' flags plus Debian's -Wall and
# -Wl,-Bsymbolic-functions (build/config.status), then make in build/.
# Made to be `make livepatch`'s LIVEPATCH_BUILD.
#
# TREE: the upstream tarball's top directory (expat/ inside) at some patch
# level (debsrc --upto N).  The compiler: $CC (make livepatch puts gcc +
# plugin + -ffile-prefix-map there); configure records it in the Makefiles.
# Result: TREE/build/lib/.libs/libexpat.so.1.8.10 (libexpat1's library).
# $LIVEPATCH_HOOKS_INCLUDE (make livepatch exports it): the directory of
# livepatch-hooks.h, added to CPPFLAGS (the t8-shadow tree includes it).
# Not done: Debian's second, -DXML_UNICODE build (libexpatw, not in
# libexpat1), xmlwf, the test suite, install, strip.  Only build/lib is made:
# it is all the library needs.
set -euo pipefail
die() { echo "expat-build: $*" >&2; exit 2; }
[[ $# == 1 ]] || die "usage: expat-build.sh TREE"
tree=$(cd "$1" && pwd) || die "no tree $1"
[[ -f $tree/expat/configure.ac ]] || die "$tree/expat/configure.ac missing (not an expat source tree)"
for tool in autoreconf libtoolize dpkg-buildflags dpkg-architecture; do
  command -v $tool >/dev/null || die "$tool not found (apt-get install autoconf automake libtool dpkg-dev)"
done

# Generated once per tree: make livepatch keeps generated files between runs
# and copies in only the sources that changed.
if [[ ! -x $tree/expat/configure ]]; then
  (cd "$tree/expat" && ./buildconf.sh) >"$tree/buildconf.log" 2>&1 ||
    die "buildconf.sh failed (log: $tree/buildconf.log)"
fi

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
gnutype=$(dpkg-architecture -qDEB_HOST_GNU_TYPE)
mkdir -p "$tree/build"
if [[ ! -f $tree/build/config.status ]]; then
  (cd "$tree/build" &&
    CFLAGS="$(dpkg-buildflags --get CFLAGS) -Wall" \
    CPPFLAGS="$(dpkg-buildflags --get CPPFLAGS)${LIVEPATCH_HOOKS_INCLUDE:+ -I$LIVEPATCH_HOOKS_INCLUDE}" \
    LDFLAGS="-Wl,-Bsymbolic-functions $(dpkg-buildflags --get LDFLAGS)" \
      ../expat/configure --build="$gnutype" --prefix=/usr --mandir='${prefix}/share/man' \
      --libdir="/usr/lib/$multiarch" CC="${CC:-gcc}") >"$tree/configure.log" 2>&1 ||
    die "configure failed (log: $tree/configure.log)"
fi

# make livepatch's MAKEFLAGS carry -j (its jobserver) and CC; lib/ is
# parallel-safe (one libtool rule per object, one link).
make -C "$tree/build/lib" all
