# Checks of one .deb: lintian, contents, control fields, conffiles, maintainer scripts and the runtime.
source "$HERE/lib/runtime.sh"
source "$HERE/lib/expected.sh"

# deb_files DEB: the regular files in the package, as /absolute paths.
deb_files() {
  dpkg-deb -c "$1" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }'
}

# deb_scripts DEB: every maintainer script, concatenated.
deb_scripts() {
  local dir=$WORK/control-$(basename "$1")
  rm -rf "$dir" && dpkg-deb -e "$1" "$dir"
  local script
  for script in preinst postinst prerm postrm; do
    [[ ! -f $dir/$script ]] || cat "$dir/$script"
  done
}

# check_deb DEB ARCH
check_deb() {
  local deb=$1 arch=$2 name tree scripts
  name=$(basename "$deb")
  echo "# $name"
  check "$name exists" test -f "$deb"
  [[ -f $deb ]] || return 0
  check "$name: lintian finds no error or warning" lintian --fail-on error,warning "$deb"
  check "$name: contents are the expected files" same_lines "$(expected_files deb)" "$(deb_files "$deb")"
  check "$name: control fields" control_fields_are "$deb" "$arch"
  check "$name: conffiles are the defaults file and the sample" \
    same_lines "$(printf '/etc/default/luks-ssm\n/etc/luks-ssm/example.conf.sample')" "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)"
  scripts=$(deb_scripts "$deb")
  check "$name: postinst reloads systemd and enables luks-ssm.target" \
    eval 'contains "$scripts" "systemctl --system daemon-reload" && contains "$scripts" "deb-systemd-helper enable .luks-ssm.target."'
  check "$name: no maintainer script starts, stops or restarts a unit" \
    lacks "$scripts" 'deb-systemd-invoke|systemctl .*(start|stop|restart)|luks-ssm@'
  check "$name: no maintainer script deletes configs" lacks "$scripts" 'rm .*(/etc/luks-ssm|/etc/default)'

  tree=$WORK/tree-$arch
  rm -rf "$tree" && dpkg-deb -x "$deb" "$tree"
  check "$name: node is a stripped $arch ELF" elf_is "$tree" "$arch"
  check "$name: node --version is $NODE_VERSION" node_version_is "$tree" "$arch" "$NODE_VERSION"
  check "$name: luks-ssm --version starts with the V8 code cache accepted" cli_starts_with_cache "$tree" "$arch" "$VERSION"
  check "$name: executables are 0755, nothing is group/other-writable" modes_are_sane "$deb"
  check "$name: luks-ssm(8) lists every exit code" man_lists_exit_codes "$tree/usr/share/man/man8/luks-ssm.8.gz"
  if [[ $arch == amd64 ]]; then
    echo 'throw new Error("code injected through NODE_OPTIONS")' >"$WORK/injected.cjs"
    check "$name: /usr/sbin/luks-ssm ignores the caller's NODE_OPTIONS" launcher_ignores_node_options "$tree" "$VERSION"
    check "$name: example.conf.sample is renderSampleConfig() of src/config" sample_is_rendered "$tree"
  fi
}

# control_fields_are DEB ARCH
control_fields_are() {
  local fields
  fields=$(dpkg-deb -f "$1")
  contains "$fields" "^Architecture: $2\$" && contains "$fields" "^Version: $VERSION-1\$" &&
    contains "$fields" '^Depends: .*libc6 \(>= 2\.28\)' && contains "$fields" '^Depends: .*cryptsetup-bin' &&
    contains "$fields" '^Depends: .*libstdc\+\+6 \(>= 7\)' && contains "$fields" '^Depends: .*systemd \(>= 239\)' &&
    contains "$fields" '^Depends: .*\bmount\b'
}

# modes_are_sane DEB: the three executables are 0755 and root-owned; no file is writable by group/others.
modes_are_sane() {
  local listing
  listing=$(dpkg-deb -c "$1")
  for file in usr/lib/luks-ssm/node usr/sbin/luks-ssm lib/systemd/system-generators/luks-ssm-generator; do
    contains "$listing" "^-rwxr-xr-x root/root .* \./$file\$" || return 1
  done
  lacks "$listing" '^.{5}w|^.{8}w' && lacks "$(awk '$2 != "root/root"' <<<"$listing")" '.'
}

# man_lists_exit_codes PAGE: every code of src/errors.ts appears as an entry of EXIT STATUS.
man_lists_exit_codes() {
  local codes entries
  codes=$(node -e "import('$ROOT/src/errors.ts').then((m) => console.log(Object.values(m.EXIT_CODES).map((r) => r.code).join('\n')))")
  entries=$(zcat "$1" | sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' | sed -n 's/^\.B \([0-9]*\)$/\1/p')
  same_lines "$codes" "$entries"
}

# sample_is_rendered TREE: the shipped sample is the config module's own rendering (one source of truth).
sample_is_rendered() {
  diff -u <(node -e "import('$ROOT/src/config/index.ts').then((m) => process.stdout.write(m.renderSampleConfig()))") \
    "$1/etc/luks-ssm/example.conf.sample"
}
