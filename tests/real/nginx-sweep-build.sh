#!/usr/bin/env bash
# nginx-sweep-build.sh [debian] - series-sweep's LIVEPATCH_BUILD for nginx
# 1.22: ./configure once per tree with the modules Debian's security fixes
# touch (ssl, http_v2, mp4, dav, mail, stream), then `make -f objs/Makefile
# binary`.  Without an argument nginx's own default flags (-O, i.e. -O1);
# with `debian`, dpkg-buildflags' (-O2, hardening=+all, -fPIC).  The compiler
# is $CC as make livepatch sets it (gcc + plugin + its flags).  Needs
# libssl-dev, libpcre2-dev and zlib1g-dev (not in make deps: the sweep is
# not part of make check).
set -euo pipefail
for h in /usr/include/openssl/ssl.h /usr/include/pcre2.h /usr/include/zlib.h; do
  [[ -f $h ]] || { echo "nginx-sweep-build: $h missing (apt-get install libssl-dev libpcre2-dev zlib1g-dev)" >&2; exit 2; }
done
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
