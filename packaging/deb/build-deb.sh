# Builds one .deb from a staged tree with debhelper, sourced by build.sh.
# The dh_* commands are those `dh binary` runs for a package with nothing to compile, minus dh_strip,
# dh_dwz and dh_shlibdeps (the Node binary arrives stripped; see Depends in control for why shlibs are
# written by hand). dh_installsystemd --no-start --no-stop-on-upgrade: install and upgrade never start,
# stop or restart a unit; removal does not stop one either (so open volumes stay open).

DEB_DH_COMMANDS=(
  'dh_installdocs' 'dh_installchangelogs' 'dh_installsystemd --no-start --no-stop-on-upgrade'
  'dh_lintian' 'dh_compress' 'dh_fixperms' 'dh_missing' 'dh_installdeb' 'dh_gencontrol' 'dh_md5sums'
)

# build_deb ARCH STAGE LICENSE-NODE OUT-DIR WORK-DIR: writes OUT-DIR/luks-ssm_<version>_<arch>.deb.
build_deb() {
  local arch=$1 stage=$2 license_node=$3 out=$4 work=$5 src command deb_version log
  src=$work/deb-src-$arch
  rm -rf "$src" && mkdir -p "$src/debian"
  cp "$ROOT/packaging/deb/control" "$ROOT/packaging/deb/copyright" "$ROOT/packaging/deb/changelog" \
    "$ROOT/packaging/deb/postinst" "$src/debian/"
  cp "$ROOT/packaging/deb/lintian-overrides" "$src/debian/luks-ssm.lintian-overrides"
  cp -a "$stage" "$src/debian/luks-ssm"
  install -D -m 0644 "$license_node" "$src/debian/luks-ssm/usr/share/doc/luks-ssm/LICENSE.node"
  set_mtimes "$src/debian"
  deb_version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
  [[ ${deb_version%-*} == "$VERSION" ]] || die "packaging/deb/changelog is at $deb_version, package.json at $VERSION: add a changelog entry."
  log=$work/dh-$arch.log
  for command in "${DEB_DH_COMMANDS[@]}" "dh_builddeb --destdir=$work"; do
    # shellcheck disable=SC2086 # each entry is a command line
    (cd "$src" && dpkg-architecture -a"$arch" -f -c $command -a) >>"$log" 2>&1 \
      || { cat "$log" >&2; die "Failed to run $command for $arch."; }
  done
  mv "$work/luks-ssm_${deb_version}_$arch.deb" "$out/luks-ssm_${VERSION}_$arch.deb"
  echo "$out/luks-ssm_${VERSION}_$arch.deb"
}
