#!/bin/bash
# Builds the Debian 12 guest for the VM tests into $1: rootfs.raw (ext4, no partition table), vmlinuz, initrd.img.
# Run by test/vm/lib/image.ts into a temporary directory that is renamed into the cache only when this succeeds.
set -euo pipefail

out=${1:?usage: build.sh OUTPUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
root="$out/root"
mkdir -p "$out"

packages=$(grep -v '^#' "$here/packages.txt" | paste -sd, -)
mirror=http://deb.debian.org/debian
security=http://deb.debian.org/debian-security

# Recommends off keeps the image small; docs, man pages and locales are never read in the guest.
mmdebstrap --variant=minbase --include="$packages" \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook="bash '$here/customize.sh' \"\$1\" '$here/files'" \
  bookworm "$root" \
  "deb $mirror bookworm main" \
  "deb $mirror bookworm-updates main" \
  "deb $security bookworm-security main"

cp "$root"/boot/vmlinuz-* "$out/vmlinuz"
cp "$root"/boot/initrd.img-* "$out/initrd.img"
# 2 GiB sparse; mke2fs copies the tree in without mounting anything (the host needs no loop device).
mke2fs -q -t ext4 -L root -d "$root" "$out/rootfs.raw" 2G
rm -rf "$root"
echo "image built in $out"
