#!/bin/sh
# make-rules/patch-deb.sh DIR NAME VERSION OUT.deb - a Debian package of the
# patches `make livepatch` wrote to DIR (manifest.json, *.lpatch, their
# .sig files), the way distributions ship live patches.
#
# The package "livepatch-patch-NAME" (Architecture: all, Depends: livepatch)
# puts DIR's files in /usr/share/livepatch/patches/NAME/.  Its postinst
# installs them into lpatch's registry in the manifest's order (signature
# policy applies: a refused patch fails the installation) and runs
# `lpatch auto`, which patches every running process that maps the module;
# a process it cannot patch is reported, not fatal (`lpatch status` says
# why).  Its prerm takes them out of the registry, newest first, and runs
# `lpatch auto` again, which reverts them in the running processes.
# `make livepatch-deb` calls it.  Reproducible with SOURCE_DATE_EPOCH.
set -eu
[ $# -eq 4 ] || { echo "usage: patch-deb.sh DIR NAME VERSION OUT.deb" >&2; exit 2; }
dir=$1 name=$2 version=$3 out=$4
[ -f "$dir/manifest.json" ] || { echo "patch-deb.sh: $dir/manifest.json: no manifest (run make livepatch first)" >&2; exit 2; }
case $name in *[!a-z0-9+.-]*|'') echo "patch-deb.sh: $name: a package name is lowercase letters, digits, + - ." >&2; exit 2 ;; esac
command -v dpkg-deb >/dev/null || { echo "patch-deb.sh: dpkg-deb not found" >&2; exit 2; }
: "${SOURCE_DATE_EPOCH:=0}"
export SOURCE_DATE_EPOCH
pkg=livepatch-patch-$name
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
share=/usr/share/livepatch/patches/$name
mkdir -p "$root$share" "$root/DEBIAN"
# The patches in the manifest's order (its "file" fields), then the rest.
order=$(sed -n 's/.*"file": *"\([^"]*\)".*/\1/p' "$dir/manifest.json")
n=0
for f in "$dir"/manifest.json "$dir"/manifest.json.sig "$dir"/*.lpatch "$dir"/*.lpatch.sig; do
  [ -f "$f" ] || continue
  install -m 0644 "$f" "$root$share/"
  case $f in *.lpatch) n=$((n + 1)) ;; esac
done
[ "$n" -gt 0 ] || { echo "patch-deb.sh: $dir: no .lpatch file (nothing changed?)" >&2; exit 2; }
removes=''
for f in $order; do removes="$share/${f##*/} $removes"; done
cat >"$root/DEBIAN/control" <<CTL
Package: $pkg
Version: $version
Architecture: all
Maintainer: livepatch <livepatch@localhost>
Depends: livepatch
Section: admin
Priority: optional
Description: live patches $name for running processes
 Installs the live patches in $share into lpatch's registry and applies
 them to every running process that maps their module (lpatch auto);
 removing the package reverts them.
CTL
cat >"$root/DEBIAN/postinst" <<SH
#!/bin/sh
# $pkg postinst: install the patches, apply them to running processes.
set -e
if [ "\$1" = configure ]; then
    lpatch install $share
    lpatch auto || echo "$pkg: lpatch auto could not patch every process (see lpatch status)" >&2
fi
exit 0
SH
cat >"$root/DEBIAN/prerm" <<SH
#!/bin/sh
# $pkg prerm: take the patches out, revert them in running processes.
set -e
if [ "\$1" = remove ] || [ "\$1" = upgrade ] || [ "\$1" = deconfigure ]; then
    lpatch remove --force $removes || true
    lpatch auto || echo "$pkg: lpatch auto could not revert every process (see lpatch status)" >&2
fi
exit 0
SH
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
