# Builds one .rpm from a staged tree with rpmbuild (Debian's rpm package), sourced by build.sh.

# rpm_changelog DEBIAN-CHANGELOG: the Debian changelog as a %changelog section (newest first), so both
# package formats carry the same history from one file.
rpm_changelog() {
  local count i
  count=$(dpkg-parsechangelog -l "$1" --all -S Version | wc -l)
  echo '%changelog'
  for ((i = 0; i < count; i++)); do
    local version date maintainer
    version=$(dpkg-parsechangelog -l "$1" --offset "$i" --count 1 -S Version)
    date=$(LC_ALL=C date -u -d "$(dpkg-parsechangelog -l "$1" --offset "$i" --count 1 -S Date)" '+%a %b %d %Y')
    maintainer=$(dpkg-parsechangelog -l "$1" --offset "$i" --count 1 -S Maintainer)
    echo "* $date $maintainer - $version"
    # Changes: only the indented entry lines; "  * item" becomes "- item"; % is doubled for rpm.
    dpkg-parsechangelog -l "$1" --offset "$i" --count 1 -S Changes \
      | grep -E '^  ' | sed -e 's/%/%%/g' -e 's/^ *\* /- /' -e 's/^   */  /'
    echo
  done
}

# build_rpm RPM-ARCH STAGE LICENSE-NODE OUT-DIR WORK-DIR: writes OUT-DIR/luks-ssm-<version>-1.<arch>.rpm.
build_rpm() {
  local arch=$1 stage=$2 license_node=$3 out=$4 work=$5 top spec licenses log
  top=$work/rpm-$arch
  rm -rf "$top" && mkdir -p "$top" "$top/licenses"
  licenses=$top/licenses
  install -m 0644 "$ROOT/packaging/LICENSE" "$licenses/LICENSE"
  install -m 0644 "$license_node" "$licenses/LICENSE.node"
  gzip -9n "$stage/usr/share/man/man8/luks-ssm.8" "$stage/usr/share/man/man5/luks-ssm.conf.5"
  set_mtimes "$stage"
  set_mtimes "$licenses"
  spec=$top/luks-ssm.spec
  { cat "$ROOT/packaging/rpm/luks-ssm.spec"; rpm_changelog "$ROOT/packaging/deb/changelog"; } >"$spec"
  log=$top/rpmbuild.log
  rpmbuild -bb --target "$arch" --define "systemd_macros $ROOT/packaging/rpm/macros.systemd" \
    --define "_topdir $top" --define "pkg_version $VERSION" \
    --define "stage_dir $stage" --define "license_dir $licenses" "$spec" >"$log" 2>&1 \
    || { cat "$log" >&2; die "Failed to run rpmbuild for $arch."; }
  mv "$top/RPMS/$arch/luks-ssm-$VERSION-1.$arch.rpm" "$out/"
  echo "$out/luks-ssm-$VERSION-1.$arch.rpm"
}
