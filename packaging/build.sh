#!/usr/bin/env bash
# npm run package: DEB and RPM packages (amd64/x86_64, arm64/aarch64) with their own Node runtime, in dist/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$ROOT/packaging/lib/common.sh"
source "$ROOT/packaging/lib/node-runtime.sh"
source "$ROOT/packaging/lib/stage.sh"
source "$ROOT/packaging/lib/sign.sh"
source "$ROOT/packaging/deb/build-deb.sh"
source "$ROOT/packaging/rpm/build-rpm.sh"

ALL_TARGETS=(deb-amd64 deb-arm64 rpm-x86_64 rpm-aarch64)

usage() {
  cat <<USAGE
Usage: packaging/build.sh [--only TARGET[,TARGET...]] [--out DIR]
Builds luks-ssm packages from build/ (npm run build), systemd/ and packaging/ into dist/.
Targets: ${ALL_TARGETS[*]} (default: all)
Environment: LUKS_SSM_BUILD_DIR (build/), LUKS_SSM_SYSTEMD_DIR (systemd/), LUKS_SSM_DIST_DIR (dist/),
  LUKS_SSM_CACHE_DIR (~/.cache/luks-ssm: the fetched arm64 Node), SOURCE_DATE_EPOCH (last commit's time),
  LUKS_SSM_GPG_KEY (sign the packages with this GnuPG secret key: rpmsign, debsigs; unset: unsigned).
USAGE
}

targets=()
OUT_DIR=${LUKS_SSM_DIST_DIR:-$ROOT/dist}
while (($# > 0)); do
  case $1 in
    --only) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; IFS=, read -ra targets <<<"$2"; shift 2 ;;
    --out) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; OUT_DIR=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) printf 'package: unknown argument %s\n' "$1" >&2; usage >&2; exit 2 ;;
  esac
done
((${#targets[@]} > 0)) || targets=("${ALL_TARGETS[@]}")
for target in "${targets[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $target "* ]] || { printf 'package: unknown target %s\n' "$target" >&2; usage >&2; exit 2; }
done

BUILD_SRC=${LUKS_SSM_BUILD_DIR:-$ROOT/build}
SYSTEMD_SRC=${LUKS_SSM_SYSTEMD_DIR:-$ROOT/systemd}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct)}
VERSION=$(package_version)

# Tools and inputs first, so a missing piece fails in a second, not after a minute of compression.
need_tool openssl openssl
for target in "${targets[@]}"; do
  case $target in
    deb-*) need_tool dh_installsystemd debhelper; need_tool dpkg-architecture dpkg-dev ;;
    rpm-*) need_tool rpmbuild rpm ;;
  esac
  case $target in
    *-arm64 | *-aarch64) need_tool aarch64-linux-gnu-strip binutils-aarch64-linux-gnu
      need_tool qemu-aarch64 qemu-user
      [[ -e $ARM64_SYSROOT/lib/libstdc++.so.6 ]] \
        || die "Failed to find the arm64 libraries for qemu, refusing: apt-get install libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross" ;;
    *) need_tool strip binutils ;;
  esac
done
need_signing_tools
need_file "$BUILD_SRC/luks-ssm.cjs" 'npm run build'
for unit in luks-ssm@.service luks-ssm.target luks-ssm-gate.service luks-ssm-generator; do
  need_file "$SYSTEMD_SRC/$unit" 'the systemd units work'
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/luks-ssm-package.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)

snapshot_app "$BUILD_SRC" "$WORK/app-amd64"
repo_node "$ROOT/packaging/render-docs.mjs" "$WORK/docs" "$VERSION"

# app_dir_for ARCH: the build's files for ARCH. arm64 gets its own V8 code cache, made under qemu (a cache
# only fits the Node build that made it); if that fails it ships without one (a slower start, nothing else).
app_dir_for() {
  local arch=$1 app=$WORK/app-$1
  if [[ $arch == arm64 && ! -d $app ]]; then
    mkdir -p "$app" && cp -p "$WORK/app-amd64"/* "$app/" && rm -f "$app/luks-ssm.cache"
    if [[ -f $WORK/app-amd64/luks-ssm.cache ]]; then
      say "making the arm64 code cache under qemu-aarch64"
      repo_node "$ROOT/packaging/lib/code-cache-arm64.mjs" "$(command -v qemu-aarch64)" "$ARM64_SYSROOT" \
        "$WORK/node-arm64/node" "$app/luks-ssm.cjs" "$app/luks-ssm.cache" >&2 \
        || { say "warning: failed to make the arm64 code cache; arm64 packages ship without it"; rm -f "$app/luks-ssm.cache"; }
    fi
  fi
  echo "$app"
}

built=()
for target in "${targets[@]}"; do
  format=${target%%-*}
  case ${target#*-} in
    amd64 | x86_64) arch=amd64 rpm_arch=x86_64 ;;
    arm64 | aarch64) arch=arm64 rpm_arch=aarch64 ;;
  esac
  [[ -x $WORK/node-$arch/node ]] || prepare_node "$arch" "$WORK/node-$arch"
  app=$(app_dir_for "$arch")
  stage=$WORK/stage-$target
  say "building $target"
  if [[ $format == deb ]]; then
    # /lib/systemd: Debian 12's debhelper only sees units there (the same directory as /usr/lib/systemd
    # on merged-/usr systems: every Debian 12 and Ubuntu 20.04+ install).
    stage_tree "$stage" lib/systemd "$WORK/node-$arch" "$app" "$WORK/docs"
    built+=("$(build_deb "$arch" "$stage" "$WORK/node-$arch/LICENSE" "$OUT_DIR" "$WORK")")
  else
    stage_tree "$stage" usr/lib/systemd "$WORK/node-$arch" "$app" "$WORK/docs"
    install -D -m 0644 "$ROOT/packaging/files/50-luks-ssm.preset" "$stage/usr/lib/systemd/system-preset/50-luks-ssm.preset"
    built+=("$(build_rpm "$rpm_arch" "$stage" "$WORK/node-$arch/LICENSE" "$OUT_DIR" "$WORK")")
  fi
done

for package in "${built[@]}"; do
  sign_package "$package"
  printf '%s  %s\n' "$(human_size "$package")" "${package#"$ROOT"/}"
done
