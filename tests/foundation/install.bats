#!/usr/bin/env bats
# make install DESTDIR=... lays out what users and GCC look for.
load ../lib/common

setup_file() {
  export DEST=$BATS_FILE_TMPDIR/dest
  make -C "$LP_TOP" --no-print-directory -s install DESTDIR="$DEST" PREFIX=/usr/local >/dev/null
}

@test "install puts binaries, library, headers and livepatch.mk under PREFIX" {
  for f in bin/lpdiff bin/lpatch lib/liblivepatch.a lib/liblivepatch.so lib/liblivepatch.so.0 \
           include/livepatch/liblivepatch.h include/livepatch/lpatch_format.h \
           include/livepatch/lpmeta.h share/livepatch/livepatch.mk \
           share/livepatch/keep-objects/collect2 lib/livepatch/livepatch-hooks.o \
           lib/liblivepatch-hooks.a include/livepatch/livepatch-hooks.h; do
    assert [ -e "$DEST/usr/local/$f" ]
  done
  assert [ -x "$DEST/usr/local/bin/lpatch" ]
}

# has_records OBJ: the plugin ran on OBJ (it wrote its .livepatch.* records).
has_records() {
  readelf -SW "$1" | grep -q '\.livepatch\.'
}

@test "-fplugin=livepatch finds the plugin in GCC's plugin directory" {
  plugdir=$(gcc -print-file-name=plugin)
  assert [ -f "$DEST$plugdir/livepatch.so" ]
  echo 'int f(void) { return 1; }' >"$BATS_TEST_TMPDIR/a.c"
  run gcc -iplugindir="$DEST$plugdir" -fplugin=livepatch -c "$BATS_TEST_TMPDIR/a.c" -o "$BATS_TEST_TMPDIR/a.o"
  assert_success
  has_records "$BATS_TEST_TMPDIR/a.o"
  # the same spelling with a plugin directory that lacks it fails
  mkdir -p "$BATS_TEST_TMPDIR/empty"
  run gcc -iplugindir="$BATS_TEST_TMPDIR/empty" -fplugin=livepatch -c "$BATS_TEST_TMPDIR/a.c" -o "$BATS_TEST_TMPDIR/b.o"
  assert_failure
}

@test "-fplugin=livepatch.so finds the plugin in the multiarch libdir" {
  libdir=/usr/lib/$(gcc -print-multiarch)
  assert [ -f "$DEST$libdir/livepatch.so" ]
  echo 'int f(void) { return 1; }' >"$BATS_TEST_TMPDIR/a.c"
  # GCC hands a name with a dot to dlopen, which searches the library path:
  # the plugin that loads is the one installed under DEST's libdir.
  LD_DEBUG=files LD_LIBRARY_PATH="$DEST$libdir" run gcc -fplugin=livepatch.so \
    -c "$BATS_TEST_TMPDIR/a.c" -o "$BATS_TEST_TMPDIR/a.o"
  assert_success
  assert_output --partial "calling init: $DEST$libdir/livepatch.so"
  has_records "$BATS_TEST_TMPDIR/a.o"
  # the same spelling, with nothing on the library path, fails (unless the
  # machine itself has the plugin installed in its libdir)
  if [[ ! -e $libdir/livepatch.so ]]; then
    run env -u LD_LIBRARY_PATH gcc -fplugin=livepatch.so -c "$BATS_TEST_TMPDIR/a.c" -o "$BATS_TEST_TMPDIR/b.o"
    assert_failure
    assert_output --partial "livepatch.so"
  fi
}
