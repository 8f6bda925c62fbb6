#!/usr/bin/env bats
# make deb: the Debian package "livepatch", installed on this machine with
# dpkg -i and used as a user would - the plugin by name (-fplugin=livepatch),
# /usr/bin/lpdiff and /usr/bin/lpatch on a running process, the man pages,
# pkg-config - then removed with dpkg -r, which must leave none of its files.
#
# It changes the machine, so it runs only as root, only when no livepatch
# package is installed and none of the package's files exists (a make install
# PREFIX=/usr would be overwritten, then deleted), one run at a time (a lock),
# and teardown_file removes the package whatever failed.  Every tool is named
# by its absolute /usr/bin path: nothing from the build tree or /usr/local.
load ../lib/common

unset MAKEFLAGS MAKELEVEL MFLAGS LD_LIBRARY_PATH LIVEPATCH_PLUGIN LPDIFF LPATCH

setup_file() {
  [[ $(id -u) == 0 ]] || skip "needs root (dpkg -i)"
  command -v dpkg-deb >/dev/null || skip "no dpkg-deb"
  exec {DEB_LOCK}>/run/lock/livepatch-deb-test.lock
  flock -w 600 "$DEB_LOCK" || skip "another deb.bats holds /run/lock/livepatch-deb-test.lock"
  if dpkg-query -W -f='${Status}' livepatch 2>/dev/null | grep -q 'ok installed'; then
    skip "a livepatch package is installed already: not touching it"
  fi
  make -C "$LP_TOP" --no-print-directory -s deb >"$BATS_FILE_TMPDIR/make-deb.log" 2>&1 ||
    { cat "$BATS_FILE_TMPDIR/make-deb.log" >&2; return 1; }
  local built
  built=$(tail -n 1 "$BATS_FILE_TMPDIR/make-deb.log")
  [[ -f $LP_TOP/$built ]] || { echo "make deb did not name a .deb: $built" >&2; return 1; }
  export DEB=$BATS_FILE_TMPDIR/${built##*/}
  cp "$LP_TOP/$built" "$DEB"
  # Every path the package would install, as absolute paths.
  dpkg-deb --fsys-tarfile "$DEB" | tar -t | sed -e 's|^\./|/|' -e 's|/$||' | grep -v '^\.\?$' \
    >"$BATS_FILE_TMPDIR/contents"
  local p
  while IFS= read -r p; do
    if [[ -e $p && ! -d $p ]]; then
      skip "$p exists already (a make install PREFIX=/usr?): the package would replace it"
    fi
  done <"$BATS_FILE_TMPDIR/contents"
  export DEB_READY=1
}

teardown_file() {
  if dpkg-query -W livepatch-patch-lptest >/dev/null 2>&1; then
    dpkg -r livepatch-patch-lptest >/dev/null 2>&1 || true
  fi
  if dpkg-query -W -f='${Status}' livepatch 2>/dev/null | grep -q 'ok installed'; then
    dpkg -r livepatch >/dev/null 2>&1 || true
  fi
}

installed() {
  dpkg-query -W -f='${Status}' livepatch 2>/dev/null | grep -q 'ok installed'
}

# ---- the package file -----------------------------------------------------

@test "make deb twice gives the same bytes" {
  rm -rf "$LP_TOP/build/deb"
  run make -C "$LP_TOP" --no-print-directory -s deb
  assert_success
  assert [ "$(sha256sum <"$LP_TOP/${lines[-1]}")" = "$(sha256sum <"$DEB")" ]
}

@test "lintian finds no error or warning in the package" {
  command -v lintian >/dev/null || skip "lintian is not installed (make deps)"
  run lintian --fail-on error,warning "$DEB"
  assert_success
  refute_output --regexp '^[EW]: '
}

# owner PATH: the package that ships PATH (as dpkg knows it: /lib or /usr/lib).
owner() {
  local p
  for p in "$1" "${1#/usr}" "/usr${1#/usr}" "$(realpath "$1")"; do
    dpkg -S "$p" 2>/dev/null | sed -n '1s/:.*//p' | grep . && return 0
  done
  return 0
}

@test "Depends: the package of every library a binary needs, and the exact gcc-12 the plugin was built for" {
  run dpkg-deb -f "$DEB" Depends
  assert_success
  local depends=$output root=$BATS_TEST_TMPDIR/root f lib path pkg
  dpkg-deb -x "$DEB" "$root"
  for f in usr/bin/lpatch usr/bin/lpdiff usr/lib/liblivepatch.so.0 \
           "usr/lib/gcc/$(gcc -print-multiarch)/12/plugin/livepatch.so"; do
    for lib in $(objdump -p "$root/$f" | awk '/NEEDED/ { print $2 }'); do
      path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ { print $NF; exit }')
      [[ -n $path ]] || fail "$f needs $lib, which ldconfig does not know"
      pkg=$(owner "$path")
      [[ -n $pkg ]] || fail "$f needs $lib ($path), which no package ships"
      [[ $depends == *"$pkg"* ]] || fail "$f needs $lib of $pkg, Depends lacks it: $depends"
    done
  done
  assert_equal "$(gcc -dumpversion)" 12
  [[ $depends == *"gcc-12 (= $(dpkg-query -W -f='${Version}' gcc-12-plugin-dev))"* ]] ||
    fail "Depends does not pin gcc-12 to the plugin headers' version: $depends"
}

@test "a systemd unit an install step adds is packaged with scripts that enable and stop it" {
  local root=$BATS_TEST_TMPDIR/root
  dpkg-deb -x "$DEB" "$root"
  printf '[Service]\nExecStart=/usr/bin/true\n' >"$BATS_TEST_TMPDIR/unit"
  install -D -m 0644 "$BATS_TEST_TMPDIR/unit" "$root/lib/systemd/system/lpatchd.service"
  run env SOURCE_DATE_EPOCH=1 bash "$LP_TOP/packaging/mkdeb.sh" "$root" "$BATS_TEST_TMPDIR/u.deb" 1.0 \
    "$(gcc -print-file-name=plugin)"
  assert_success
  run dpkg-deb -c "$BATS_TEST_TMPDIR/u.deb"
  assert_output --partial ./lib/systemd/system/lpatchd.service
  run dpkg-deb -I "$BATS_TEST_TMPDIR/u.deb" postinst
  assert_output --partial 'deb-systemd-helper enable "$u"'
  assert_output --partial 'for u in lpatchd.service'
  run dpkg-deb -I "$BATS_TEST_TMPDIR/u.deb" prerm
  assert_output --partial 'deb-systemd-invoke stop lpatchd.service'
  # the real package carries lpatchd's unit, with the same scripts
  run dpkg-deb -c "$DEB"
  assert_output --partial ./lib/systemd/system/lpatchd.service
  run dpkg-deb -I "$DEB" postinst
  assert_output --partial 'deb-systemd-helper enable "$u"'
}

# ---- installed: what a user sees -----------------------------------------

@test "dpkg -i installs the package" {
  [[ -n ${DEB_READY:-} ]] || skip "setup did not build the package"
  run dpkg -i "$DEB"
  assert_success
  installed
}

@test "installed: gcc -fplugin=livepatch finds the plugin with no -iplugindir" {
  installed || fail "livepatch is not installed"
  echo 'int f(void) { return 1; }' >"$BATS_TEST_TMPDIR/a.c"
  run gcc -fplugin=livepatch -c "$BATS_TEST_TMPDIR/a.c" -o "$BATS_TEST_TMPDIR/a.o"
  assert_success
  run readelf -SW "$BATS_TEST_TMPDIR/a.o"
  assert_output --partial '.livepatch.'
}

@test "installed: /usr/bin/lpatch and /usr/bin/lpdiff run, man finds their pages" {
  installed || fail "livepatch is not installed"
  run /usr/bin/lpatch --help
  assert_success
  assert_line --index 0 --partial 'usage: lpatch'
  run /usr/bin/lpdiff --help
  assert_success
  assert_line --index 0 --partial 'usage: lpdiff'
  command -v man >/dev/null || skip "man-db is not installed (make deps)"
  run man -w lpatch
  assert_output /usr/share/man/man8/lpatch.8.gz
  run man -w lpdiff
  assert_output /usr/share/man/man1/lpdiff.1.gz
  run man -w 7 livepatch.mk
  assert_output /usr/share/man/man7/livepatch.mk.7.gz
  local page
  for page in lpatch lpdiff livepatch.mk; do
    run env MANWIDTH=80 man --warnings -l "$(man -w "$page")"
    assert_success
    refute_output --partial 'warning'
  done
}

# page_has PAGE WORD: the installed man page PAGE's roff names WORD, as a
# whole word (--backoff-max does not count for --backoff).
page_has() {
  zcat "$(man -w "$1")" | sed 's/\\-/-/g' | grep -qE -- "(^|[^a-zA-Z_-])$2([^a-zA-Z_-]|\$)" ||
    fail "man page $1 does not mention $2"
}

@test "installed: the man pages name every command and option the tools' help prints" {
  installed || fail "livepatch is not installed"
  command -v man >/dev/null || skip "man-db is not installed (make deps)"
  local cmds c o n=0
  cmds=$(/usr/bin/lpatch --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
  [[ -n $cmds ]] || fail "lpatch --help lists no commands"
  for c in $cmds; do
    page_has lpatch "lpatch $c"
    for o in $(/usr/bin/lpatch "$c" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
      page_has lpatch "$o"
      n=$((n + 1))
    done
  done
  for o in $({ /usr/bin/lpdiff --help; /usr/bin/lpdiff --list --help; } | grep -oE -- '(^| )-(-[a-z][a-z-]*|[a-z])\b' |
             tr -d ' ' | sort -u); do
    page_has lpdiff "$o"
    n=$((n + 1))
  done
  for o in $(/usr/bin/lpatchd --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
    page_has lpatchd "$o"
    n=$((n + 1))
  done
  for o in $(make -s -f /usr/share/livepatch/livepatch.mk livepatch-help |
             grep -oE 'livepatch(-[a-z]+)?|[A-Z][A-Z_]+=' | tr -d = | sort -u); do
    page_has livepatch.mk "$o"
    n=$((n + 1))
  done
  ((n > 30)) || fail "only $n options and names found in the help texts"
}

@test "installed: pkg-config liblivepatch, and a program linking liblivepatch builds and runs" {
  installed || fail "livepatch is not installed"
  run pkg-config --cflags --libs liblivepatch
  assert_success
  assert_output --regexp '^-I/usr/include/livepatch -llivepatch *$'
  cat >"$BATS_TEST_TMPDIR/t.c" <<'EOF'
#include <liblivepatch.h>
int main(int argc, char **argv)
{
    char err[LP_ERR_MAX];
    struct lp_patch *p;
    if (argc < 2 || lp_patch_load(argv[1], &p, err) == 0)
        return 2;
    puts(err);
    return 0;
}
EOF
  # shellcheck disable=SC2046 # pkg-config prints several words
  run gcc -o "$BATS_TEST_TMPDIR/t" "$BATS_TEST_TMPDIR/t.c" $(pkg-config --cflags --libs liblivepatch)
  assert_success
  run ldd "$BATS_TEST_TMPDIR/t"
  assert_output --regexp 'liblivepatch\.so\.0 => (/usr)?/lib/liblivepatch\.so\.0 '
  echo 'not a patch' >"$BATS_TEST_TMPDIR/bad.lpatch"
  run "$BATS_TEST_TMPDIR/t" "$BATS_TEST_TMPDIR/bad.lpatch"
  assert_success
  assert_output --partial bad.lpatch
}

# build_prog DIR VALUE: DIR/prog from DIR/main.c and DIR/f.c (f returns
# VALUE), built from inside DIR as make would, with the installed plugin.
build_prog() {
  mkdir -p "$1"
  cat >"$1/main.c" <<'EOF'
#include <stdio.h>
int f(void);
int main(void)
{
    char line[64];
    puts("ready");
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
        printf("%d\n", f());
        fflush(stdout);
    }
    return 0;
}
EOF
  echo "int f(void) { return $2; }" >"$1/f.c"
  (cd "$1" && gcc -fplugin=livepatch -g -O2 -c main.c -o main.o && gcc -fplugin=livepatch -g -O2 -c f.c -o f.o &&
    gcc -o prog main.o f.o)
}

# probe: one line to the running program, its answer.
probe() {
  local line
  echo >&"${PROG[1]}"
  IFS= read -r -t 10 line <&"${PROG[0]}" || return 1
  echo "$line"
}

@test "installed: a patch made with /usr/bin/lpdiff applies with /usr/bin/lpatch to a running process" {
  installed || fail "livepatch is not installed"
  local t=$BATS_TEST_TMPDIR line pid
  build_prog "$t/old" 1
  build_prog "$t/new" 2
  run /usr/bin/lpdiff --old "$t/old" --new "$t/new" --module prog -o "$t/p.lpatch"
  assert_success
  coproc PROG { exec "$t/old/prog"; }
  pid=$PROG_PID
  IFS= read -r -t 10 line <&"${PROG[0]}"
  assert_equal "$line" ready
  assert_equal "$(probe)" 1
  run /usr/bin/lpatch apply "$pid" "$t/p.lpatch"
  assert_success
  assert_equal "$(probe)" 2
  run /usr/bin/lpatch revert "$pid"
  assert_success
  assert_equal "$(probe)" 1
  kill "$pid"
  wait "$pid" || true
}

@test "installed: a patch bundle .deb (make-rules/patch-deb.sh) patches the running process on install and reverts it on removal" {
  installed || fail "livepatch is not installed"
  [[ -x /usr/share/livepatch/patch-deb.sh ]] || fail "patch-deb.sh is not installed"
  dpkg-query -W livepatch-patch-lptest >/dev/null 2>&1 && fail "livepatch-patch-lptest is installed already"
  local t=$BATS_TEST_TMPDIR line pid id
  build_prog "$t/old" 11
  build_prog "$t/new" 12
  mkdir -p "$t/out"
  run /usr/bin/lpdiff --old "$t/old" --new "$t/new" --module prog -o "$t/out/prog.lpatch"
  assert_success
  id=$(/usr/bin/lpatch info --json "$t/out/prog.lpatch" | jq -r .id)
  jq -n --arg id "$id" '{livepatch_manifest: 1, patches: [{id: $id, module: "prog", file: "prog.lpatch"}], unchanged: []}' \
    >"$t/out/manifest.json"
  run /usr/share/livepatch/patch-deb.sh "$t/out" lptest 1.0 "$t/bundle.deb"
  assert_success
  run dpkg-deb -f "$t/bundle.deb" Package Depends Architecture
  assert_output "Package: livepatch-patch-lptest
Depends: livepatch
Architecture: all"
  coproc PROG { exec "$t/old/prog"; }
  pid=$PROG_PID
  IFS= read -r -t 10 line <&"${PROG[0]}"
  assert_equal "$line" ready
  assert_equal "$(probe)" 11
  run dpkg -i "$t/bundle.deb"
  assert_success
  assert_equal "$(probe)" 12 # postinst: lpatch install + lpatch auto
  run /usr/bin/lpatch status "$pid"
  assert_output --partial applied
  run dpkg -r livepatch-patch-lptest
  assert_success
  assert_equal "$(probe)" 11 # prerm: lpatch remove + lpatch auto
  run /usr/bin/lpatch list "$pid"
  assert_output --partial "0 patches"
  kill "$pid"
  wait "$pid" || true
}

@test "dpkg -r removes every file the package installed" {
  installed || fail "livepatch is not installed"
  dpkg -L livepatch >"$BATS_TEST_TMPDIR/files"
  run dpkg -r livepatch
  assert_success
  run installed
  assert_failure
  local p left=()
  while IFS= read -r p; do
    [[ $p == /. ]] && continue
    # a directory stays when another package (or a user) has files there
    if [[ -d $p ]]; then
      [[ -z $(ls -A "$p") ]] && ! dpkg -S "$p" >/dev/null 2>&1 && left+=("$p (empty directory)")
    elif [[ -e $p || -L $p ]]; then
      left+=("$p")
    fi
  done <"$BATS_TEST_TMPDIR/files"
  ((${#left[@]} == 0)) || fail "left after dpkg -r: ${left[*]}"
  assert [ "$(wc -l <"$BATS_TEST_TMPDIR/files")" -gt 30 ]
}
