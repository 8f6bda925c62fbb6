#!/usr/bin/env bash
# packaging/mkdeb.sh ROOT OUT.deb VERSION GCC_PLUGIN_DIR - turn ROOT (what
# `make install DESTDIR=ROOT PREFIX=/usr` laid out) into the Debian package
# "livepatch" with dpkg-deb.  Called by `make deb` (packaging/rules.mk).
#
# Reproducible: with SOURCE_DATE_EPOCH fixed, the same ROOT gives the same
# bytes - files stamped with it, modes normalised, man pages gzip -n,
# owner root:root (--root-owner-group), Installed-Size from file sizes
# (not from the file system's blocks), dpkg-deb's sorted tar and xz.
#
# Depends: dpkg-shlibdeps on every ELF program and shared object (in a
# scratch directory holding the one debian/control it asks for), plus the
# exact gcc-12 build whose plugin headers the plugin was compiled against:
# GCC loads a plugin only into the compiler it was built for.
#
# systemd units that an install step put under lib/systemd/system get
# maintainer scripts that enable and start them on install and stop and
# disable them on removal.
set -euo pipefail
(($# == 4)) || { echo "usage: mkdeb.sh ROOT OUT.deb VERSION GCC_PLUGIN_DIR" >&2; exit 2; }
root=$(realpath "$1") out=$2 version=$3 plugin_dir=$4
: "${SOURCE_DATE_EPOCH:?mkdeb.sh: SOURCE_DATE_EPOCH is not set}"
export SOURCE_DATE_EPOCH
here=$(cd "$(dirname "$0")" && pwd)
[[ -d $root/usr ]] || { echo "mkdeb.sh: $root/usr: no such directory (make install DESTDIR=$root PREFIX=/usr)" >&2; exit 2; }
[[ -d $root/DEBIAN ]] && { echo "mkdeb.sh: $root/DEBIAN exists: ROOT must be a fresh install" >&2; exit 2; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# --- contents: as Debian policy wants them ---------------------------------
# Man pages compressed (policy 12.1); binaries stripped as dh_strip does.
find "$root/usr/share/man" -type f ! -name '*.gz' -exec gzip -9nf {} +
is_elf() { [[ $(head -c4 "$1" | od -An -c | tr -d ' ') == '177ELF' ]]; }
elfs=()
while IFS= read -r f; do
  is_elf "$f" && elfs+=("$f")
done < <(find "$root" -type f ! -name '*.a' | LC_ALL=C sort)
((${#elfs[@]})) || { echo "mkdeb.sh: no program or shared object under $root" >&2; exit 2; }
strip --remove-section=.comment --remove-section=.note --strip-unneeded "${elfs[@]}"
find "$root" -type f -name '*.a' -exec strip --strip-debug --remove-section=.comment \
  --remove-section=.note --enable-deterministic-archives {} +

doc=$root/usr/share/doc/livepatch
install -D -m 0644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/livepatch"
install -D -m 0644 "$here/copyright" "$doc/copyright"
date=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
printf 'livepatch (%s) unstable; urgency=medium\n\n  * Built from the livepatch source tree by make deb.\n\n -- %s  %s\n' \
  "$version" "$(sed -n 's/^Maintainer: //p' "$here/control.in")" "$date" |
  gzip -9n >"$doc/changelog.gz"

# --- maintainer scripts for systemd units ----------------------------------
mkdir -p "$root/DEBIAN"
units=()
for u in "$root"/lib/systemd/system/*.service; do
  [[ -e $u ]] && units+=("${u##*/}")
done
if ((${#units[@]})); then
  cat >"$root/DEBIAN/postinst" <<SH
#!/bin/sh
# livepatch postinst: enable and (re)start its systemd units, the way
# dh_installsystemd does (deb-systemd-helper, deb-systemd-invoke).
set -e
if [ "\$1" = configure ] || [ "\$1" = abort-upgrade ]; then
	for u in ${units[*]}; do
		deb-systemd-helper unmask "\$u" >/dev/null || true
		deb-systemd-helper enable "\$u" >/dev/null || true
	done
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		deb-systemd-invoke restart ${units[*]} >/dev/null || true
	fi
fi
SH
  cat >"$root/DEBIAN/prerm" <<SH
#!/bin/sh
# livepatch prerm: stop its systemd units before their files go.
set -e
if [ "\$1" = remove ] && [ -d /run/systemd/system ]; then
	deb-systemd-invoke stop ${units[*]} >/dev/null || true
fi
SH
  cat >"$root/DEBIAN/postrm" <<SH
#!/bin/sh
# livepatch postrm: disable (remove) or forget (purge) its systemd units.
set -e
if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
for u in ${units[*]}; do
	if [ "\$1" = remove ] && command -v deb-systemd-helper >/dev/null; then
		deb-systemd-helper mask "\$u" >/dev/null || true
	fi
	if [ "\$1" = purge ] && command -v deb-systemd-helper >/dev/null; then
		deb-systemd-helper purge "\$u" >/dev/null || true
		deb-systemd-helper unmask "\$u" >/dev/null || true
	fi
done
SH
  chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
fi

# Shared libraries (lib*.so.N) in the linker's directories: ldconfig runs
# after install, and shlibs tells dpkg-shlibdeps of other packages that
# this package provides them (from this upstream version on).
: >"$scratch/shlibs"
while IFS= read -r lib; do
  soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  [[ $soname =~ ^(lib.*)\.so\.([0-9]+)$ ]] || continue
  echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]} livepatch (>= ${version%%+*})" >>"$scratch/shlibs"
done < <(find "$root/usr/lib" -maxdepth 2 -type f -name 'lib*.so.*' | LC_ALL=C sort)
if [[ -s $scratch/shlibs ]]; then
  cp "$scratch/shlibs" "$root/DEBIAN/shlibs"
  echo 'activate-noawait ldconfig' >"$root/DEBIAN/triggers"
fi

# --- Depends ---------------------------------------------------------------
# dpkg-shlibdeps reads debian/control from the current directory; give it
# one naming only this package.
mkdir -p "$scratch/debian"
printf 'Source: livepatch\n\nPackage: livepatch\nArchitecture: any\n' >"$scratch/debian/control"
shlibs=$(cd "$scratch" && dpkg-shlibdeps -O --warnings=0 "${elfs[@]}" | sed -n 's/^shlibs:Depends=//p')
[[ -n $shlibs ]] || { echo "mkdeb.sh: dpkg-shlibdeps found no shared library dependencies" >&2; exit 2; }
# The plugin ABI: the gcc package whose plugin headers we compiled against.
hdr=$plugin_dir/include/plugin-version.h
gccpkg=$(dpkg-query -S "$hdr" 2>/dev/null | sed -n '1s/:.*//p')
[[ $gccpkg == gcc-*-plugin-dev ]] || { echo "mkdeb.sh: $hdr: not from a gcc-N-plugin-dev package" >&2; exit 2; }
gccver=$(dpkg-query -W -f='${Version}' "$gccpkg")
gcc_dep="${gccpkg%-plugin-dev} (= $gccver)"

# --- control, md5sums ------------------------------------------------------
find "$root" -exec chmod u+w,go-w {} +
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
# Installed-Size as dpkg-gencontrol counts it: KiB per file, 1 per directory.
size=$(find "$root" -path "$root/DEBIAN" -prune -o \( -type f -printf '%s\n' \) -o -printf '1024\n' |
  awk '{ k += int(($1 + 1023) / 1024) } END { print k }')
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$(dpkg --print-architecture)|" \
  -e "s|@SIZE@|$size|" -e "s|@DEPENDS@|$shlibs, $gcc_dep|" "$here/control.in" >"$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
  xargs -d '\n' md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN"/{control,md5sums}
for f in shlibs triggers; do
  [[ -e $root/DEBIAN/$f ]] && chmod 0644 "$root/DEBIAN/$f"
done
touch -h -d "@$SOURCE_DATE_EPOCH" "$root/DEBIAN" "$root/DEBIAN"/*

mkdir -p "$(dirname "$out")"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
