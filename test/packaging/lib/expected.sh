# The files each package must hold: fixed ones here, the app files from build/ (every file but maps).

# app_files: /usr/lib/luks-ssm/<file> for each file `npm run build` made, plus the runtime and the cache.
app_files() {
  local build=${LUKS_SSM_BUILD_DIR:-$ROOT/build} file
  for file in "$build"/*; do
    case $file in *.map) ;; *) echo "/usr/lib/luks-ssm/$(basename "$file")" ;; esac
  done
  echo /usr/lib/luks-ssm/node
  echo /usr/lib/luks-ssm/luks-ssm.cache
}

# expected_files deb|rpm
expected_files() {
  local systemd=/usr/lib/systemd
  [[ $1 == deb ]] && systemd=/lib/systemd
  app_files | sort -u
  cat <<FILES
/etc/default/luks-ssm
/etc/luks-ssm/example.conf.sample
$systemd/system/luks-ssm-gate.service
$systemd/system/luks-ssm.target
$systemd/system/luks-ssm@.service
$systemd/system-generators/luks-ssm-generator
/usr/sbin/luks-ssm
/usr/share/man/man5/luks-ssm.conf.5.gz
/usr/share/man/man8/luks-ssm.8.gz
FILES
  if [[ $1 == deb ]]; then
    cat <<FILES
/usr/share/doc/luks-ssm/LICENSE.node.gz
/usr/share/doc/luks-ssm/changelog.Debian.gz
/usr/share/doc/luks-ssm/copyright
/usr/share/lintian/overrides/luks-ssm
FILES
  else
    cat <<FILES
/usr/lib/systemd/system-preset/50-luks-ssm.preset
/usr/share/licenses/luks-ssm/LICENSE
/usr/share/licenses/luks-ssm/LICENSE.node
FILES
  fi
}
