#!/bin/bash
# Builds a Debian guest for the VM tests into $1: rootfs.raw (ext4, no partition table), vmlinuz, initrd.img.
# $2 is the release (bullseye, bookworm, trixie): its package list is distros/$2/packages.txt, the rest is shared.
# Run by test/vm/lib/image.ts into a temporary directory that is renamed into the cache only when this succeeds.
set -euo pipefail

out=${1:?usage: build.sh OUTPUT_DIR RELEASE}
release=${2:?usage: build.sh OUTPUT_DIR RELEASE}
here=$(cd "$(dirname "$0")" && pwd)
recipe="$here/distros/$release"
[ -f "$recipe/packages.txt" ] || { echo "build.sh: no $recipe/packages.txt: unknown release $release" >&2; exit 2; }
root="$out/root"
mkdir -p "$out"

packages=$(grep -v '^#' "$recipe/packages.txt" | paste -sd, -)
mirror=http://deb.debian.org/debian
security=http://deb.debian.org/debian-security

# Recommends off keeps the image small; docs, man pages and locales are never read in the guest.
# mmdebstrap makes bookworm and later merged-/usr and leaves bullseye split (/lib a real directory), as a
# machine upgraded from buster has it: offline `enable` must find /lib/systemd/system there.
mmdebstrap --variant=minbase --include="$packages" \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook="bash '$here/customize.sh' \"\$1\" '$here/files'" \
  "$release" "$root" \
  "deb $mirror $release main" \
  "deb $mirror $release-updates main" \
  "deb $security $release-security main"

cp "$root"/boot/vmlinuz-* "$out/vmlinuz"
cp "$root"/boot/initrd.img-* "$out/initrd.img"
# 2 GiB sparse; mke2fs copies the tree in without mounting anything (the host needs no loop device).
mke2fs -q -t ext4 -L root -d "$root" "$out/rootfs.raw" 2G
rm -rf "$root"
echo "image built in $out"
