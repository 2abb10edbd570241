# Shared helpers for packaging/*.sh: messages, input checks and the version, sourced (not run).

say() { printf 'package: %s\n' "$*" >&2; }
die() { printf 'package: %s\n' "$*" >&2; exit 1; }

# need_tool COMMAND DEBIAN-PACKAGE: fail with the apt package to install when a build tool is missing.
need_tool() {
  command -v "$1" >/dev/null 2>&1 || die "Failed to find $1, refusing to build: apt-get install $2"
}

# need_file PATH WHO: fail when an input another part of the project makes is not there yet.
need_file() {
  [[ -e $1 ]] || die "Failed to find ${1#"$ROOT"/} (made by $2), refusing to build."
}

# The Node 24 that runs the repo's scripts (node_modules/.bin/node): the system node is too old.
repo_node() {
  local node=$ROOT/node_modules/.bin/node
  [[ -x $node ]] || die "Failed to find $node, refusing to build: run npm ci (or scripts/setup.sh)."
  "$node" "$@"
}

# package_version: the version in package.json, the one every package carries.
package_version() {
  repo_node -p "require(process.argv[1]).version" "$ROOT/package.json"
}

# lock_field PACKAGE FIELD: a field (version, integrity) of node_modules/PACKAGE in package-lock.json.
lock_field() {
  repo_node -p "require(process.argv[1]).packages['node_modules/' + process.argv[2]]?.[process.argv[3]] ?? ''" \
    "$ROOT/package-lock.json" "$1" "$2"
}

# sri_sha512 FILE: the file's digest in the lockfile's "integrity" form (sha512-<base64>).
sri_sha512() {
  printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 -w0)"
}

# human_size FILE: the size in MB with one decimal, for the summary.
human_size() {
  awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f MB", b / 1000000 }'
}
