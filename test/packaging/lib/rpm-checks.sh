# Checks of one .rpm: rpmlint, contents, requires, scriptlets, and a real install/upgrade/erase in a scratch root.
source "$HERE/lib/runtime.sh"
source "$HERE/lib/expected.sh"

# check_rpm RPM ARCH
check_rpm() {
  local rpm=$1 arch=$2 name tree scripts
  name=$(basename "$rpm")
  echo "# $name"
  check "$name exists" test -f "$rpm"
  [[ -f $rpm ]] || return 0
  check "$name: rpmlint finds no error or warning" rpmlint_clean "$rpm"
  check "$name: plain rpmlint (no overrides) has no packager or shebang finding" rpmlint_plain_clean "$rpm"
  check "$name: contents are the expected files" same_lines "$(expected_files rpm)" "$(rpm -qlp --noartifact "$rpm" | grep -v '^/usr/share/licenses/luks-ssm$\|^/usr/lib/luks-ssm$\|^/etc/luks-ssm$')"
  check "$name: arch, requires" requires_are "$rpm" "$arch"
  check "$name: config files are the defaults file and the sample" \
    same_lines "$(printf '/etc/default/luks-ssm\n/etc/luks-ssm/example.conf.sample')" "$(rpm -qcp "$rpm")"
  scripts=$(rpm -qp --scripts "$rpm")
  check "$name: %post presets luks-ssm.target on first install" contains "$scripts" 'systemctl --no-reload preset luks-ssm.target'
  check "$name: no scriptlet restarts anything or touches a volume unit" lacks "$scripts" 'restart|reload-or|luks-ssm@|start '

  tree=$WORK/rpmtree-$arch
  rm -rf "$tree" && mkdir -p "$tree" && (cd "$tree" && rpm2cpio "$rpm" | cpio -idm --quiet)
  check "$name: node is a stripped $arch ELF" elf_is "$tree" "$arch"
  check "$name: node --version is $NODE_VERSION" node_version_is "$tree" "$arch" "$NODE_VERSION"
  check "$name: luks-ssm --version starts with the V8 code cache accepted" cli_starts_with_cache "$tree" "$arch" "$VERSION"
  check_rpm_scratch_install "$rpm" "$arch"
}

# rpmlint_plain_clean RPM: a distribution's rpmlint, without our rpmlintrc, finds no Packager tag missing
# and no packaged script whose #! line would run the machine's interpreter (#11 item 7).
rpmlint_plain_clean() {
  local out
  out=$(rpmlint "$1" 2>&1) || true
  contains "$out" ' errors, ' && lacks "$out" 'no-packager-tag|non-executable-script'
}

# rpmlint_clean RPM: rpmlint with packaging/rpm/rpmlintrc reports 0 errors and 0 warnings.
rpmlint_clean() {
  local out
  out=$(rpmlint -r "$ROOT/packaging/rpm/rpmlintrc" "$1" 2>&1) || true
  contains "$out" ' 0 errors, 0 warnings'

}

requires_are() {
  local requires
  requires=$(rpm -qp --requires "$1")
  [[ $(rpm -qp --qf '%{ARCH}' "$1") == "$2" ]] && contains "$requires" '^cryptsetup$' &&
    contains "$requires" '^util-linux$' && contains "$requires" '^glibc >= 2\.28$' &&
    contains "$requires" '^libc\.so\.6\(GLIBC_2\.28\)\(64bit\)$' && contains "$requires" '^systemd >= 239$'
}

# make_scratch_root DIR: just enough for scriptlets: bash as /bin/sh (RHEL's /bin/sh is bash, and the
# systemd macros use &>), its libraries, and a systemctl that only records its arguments.
make_scratch_root() {
  local root=$1 lib
  mkdir -p "$root"/{bin,usr/bin,dev,tmp,var/log,var/lib/rpm}
  cp /bin/bash "$root/bin/sh"
  for lib in $(ldd /bin/bash | grep -oE '/[^ ]+'); do
    mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib"
  done
  printf '#!/bin/sh\necho "$*" >>/var/log/systemctl.calls\n' >"$root/usr/bin/systemctl"
  chmod 755 "$root/usr/bin/systemctl"
  : >"$root/var/log/systemctl.calls"
}

# check_rpm_scratch_install RPM ARCH: install, reinstall (scriptlets see an upgrade: $1=2) and erase.
# --nodeps is honest here: the scratch root's rpmdb is empty (no glibc, cryptsetup, util-linux or systemd
# packages), so every Requires would be unmet; the requires themselves are checked above. --ignorearch
# lets the aarch64 package install on this x86_64 host (its scriptlets run the host's bash).
check_rpm_scratch_install() {
  local rpm=$1 arch=$2 name root calls
  name=$(basename "$rpm")
  root=$WORK/scratch-$arch
  rm -rf "$root" && make_scratch_root "$root"
  local -a rpm_root=(rpm --root "$root" --dbpath /var/lib/rpm)
  "${rpm_root[@]}" --initdb
  check "$name: rpm -i --root scratch --nodeps succeeds" "${rpm_root[@]}" -i --nodeps --ignorearch "$rpm"
  check "$name: installed files land" test -x "$root/usr/lib/luks-ssm/node" -a -x "$root/usr/sbin/luks-ssm" \
    -a -f "$root/usr/lib/systemd/system/luks-ssm@.service" -a -x "$root/usr/lib/systemd/system-generators/luks-ssm-generator"
  calls=$(cat "$root/var/log/systemctl.calls")
  check "$name: install ran exactly 'systemctl --no-reload preset luks-ssm.target'" \
    same_lines '--no-reload preset luks-ssm.target' "$calls"

  # An admin's edits and a live volume config, which upgrade and removal must keep.
  echo 'TIMEOUT_SEC=120' >>"$root/etc/default/luks-ssm"
  echo 'LUKS_DEVICE=/dev/xvdf' >"$root/etc/luks-ssm/data.conf"
  : >"$root/var/log/systemctl.calls"
  check "$name: rpm -U --replacepkgs (upgrade scriptlets) succeeds" "${rpm_root[@]}" -U --replacepkgs --nodeps --ignorearch "$rpm"
  check "$name: upgrade calls no systemctl (nothing stopped or restarted)" test ! -s "$root/var/log/systemctl.calls"
  check "$name: upgrade keeps the edited /etc/default/luks-ssm" grep -q '^TIMEOUT_SEC=120$' "$root/etc/default/luks-ssm"

  check "$name: rpm -e succeeds" "${rpm_root[@]}" -e --nodeps luks-ssm
  calls=$(cat "$root/var/log/systemctl.calls")
  check "$name: erase only disables luks-ssm.target (volumes are not stopped)" \
    same_lines '--no-reload disable --now luks-ssm.target' "$calls"
  check "$name: erase keeps configs (data.conf, edited defaults as .rpmsave)" \
    test -f "$root/etc/luks-ssm/data.conf" -a -f "$root/etc/default/luks-ssm.rpmsave"
  check "$name: erase removes the package's files" test ! -e "$root/usr/lib/luks-ssm/node"
}
