#!/usr/bin/env bash
# nginx-sweep-build.sh [debian] - series-sweep's LIVEPATCH_BUILD for nginx
# 1.22: ./configure once per tree with the modules Debian's security fixes
# touch (ssl, http_v2, mp4, dav, mail, stream), then `make -f objs/Makefile
# binary`.  Without an argument nginx's own default flags (-O, i.e. -O1);
# with `debian`, dpkg-buildflags' (-O2, hardening=+all, -fPIC).  The compiler
# is $CC as make livepatch sets it (gcc + plugin + its flags).
set -euo pipefail
opt=${CC#* } ld=
if [[ ${1:-} == debian ]]; then
  export DEB_BUILD_MAINT_OPTIONS=hardening=+all
  opt="$opt $(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS) -fPIC"
  ld="$(dpkg-buildflags --get LDFLAGS) -fPIC"
fi
if [[ ! -f objs/Makefile ]]; then
  ./configure --with-http_ssl_module --with-http_v2_module --with-http_mp4_module \
    --with-http_dav_module --with-mail --with-mail_ssl_module --with-stream \
    --with-stream_ssl_module --with-cc="${CC%% *}" --with-cc-opt="$opt" --with-ld-opt="$ld" \
    >configure.log 2>&1 || { tail -n 20 configure.log >&2; exit 1; }
fi
make -f objs/Makefile binary
