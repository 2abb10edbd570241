# Checks on an unpacked package tree that run its Node: the right ELF, the right Node, the code cache taken.

ARM64_SYSROOT=/usr/aarch64-linux-gnu

# run_arch ARCH COMMAND...: arm64 binaries run through qemu-aarch64 with the arm64 cross libraries.
run_arch() {
  local arch=$1; shift
  case $arch in
    arm64 | aarch64) qemu-aarch64 -L "$ARM64_SYSROOT" "$@" ;;
    *) "$@" ;;
  esac
}

# elf_is TREE ARCH: usr/lib/luks-ssm/node is a stripped ELF for ARCH.
elf_is() {
  local description
  description=$(file -b "$1/usr/lib/luks-ssm/node")
  case $2 in
    amd64 | x86_64) contains "$description" 'ELF 64-bit LSB .*x86-64' ;;
    arm64 | aarch64) contains "$description" 'ELF 64-bit LSB .*ARM aarch64' ;;
  esac && contains "$description" ', stripped$'
}

# node_version_is TREE ARCH VERSION
node_version_is() {
  local actual
  actual=$(run_arch "$2" "$1/usr/lib/luks-ssm/node" --version) || return 1
  [[ $actual == "$3" ]] || { echo "node --version said $actual, expected $3"; return 1; }
}

# cli_starts_with_cache TREE ARCH VERSION: the shipped loader prints the version and V8 takes the cache.
cli_starts_with_cache() {
  local out
  out=$(LUKS_SSM_DEBUG_CACHE=1 run_arch "$2" "$1/usr/lib/luks-ssm/node" "$1/usr/lib/luks-ssm/luks-ssm.cjs" --version 2>&1) || {
    echo "$out"; return 1; }
  contains "$out" "^luks-ssm $3\$" && contains "$out" '^cache: accepted$'
}

# launcher_ignores_node_options TREE VERSION: /usr/sbin/luks-ssm (pointed at TREE) still runs when the
# caller's NODE_OPTIONS asks Node to preload a module: the launcher clears it.
launcher_ignores_node_options() {
  local launcher=$WORK/launcher out
  sed "s#/usr/lib/luks-ssm#$1/usr/lib/luks-ssm#g" "$1/usr/sbin/luks-ssm" >"$launcher"
  out=$(NODE_OPTIONS="--require $WORK/injected.cjs" NODE_PATH=$WORK sh "$launcher" --version 2>&1) || {
    echo "$out"; return 1; }
  contains "$out" "^luks-ssm $2\$"
}
