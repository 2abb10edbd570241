# Lays out the installed file tree of one package (the same for DEB and RPM but for the systemd dir),
# sourced by build.sh. Modes are set here; owners are root in both packages.

# stage_tree DEST SYSTEMD-LIB NODE-DIR APP-DIR DOCS-DIR
#   SYSTEMD-LIB: lib/systemd (Debian 12 policy) or usr/lib/systemd (RPM); APP-DIR: the build's files.
stage_tree() {
  local dest=$1 systemd_lib=$2 node_dir=$3 app_dir=$4 docs=$5
  rm -rf "$dest"
  install -d -m 0755 "$dest/usr/lib/luks-ssm" "$dest/usr/sbin" "$dest/$systemd_lib/system" \
    "$dest/$systemd_lib/system-generators" "$dest/etc/default" "$dest/etc/luks-ssm" \
    "$dest/usr/share/man/man8" "$dest/usr/share/man/man5"
  install -m 0755 "$node_dir/node" "$dest/usr/lib/luks-ssm/node"
  # 0644: only the bundled node runs these files (the loader's #! line is gone, see snapshot_app).
  install -m 0644 "$app_dir"/* "$dest/usr/lib/luks-ssm/"
  install -m 0755 "$ROOT/packaging/files/luks-ssm" "$dest/usr/sbin/luks-ssm"
  install -m 0644 "$SYSTEMD_SRC/luks-ssm@.service" "$SYSTEMD_SRC/luks-ssm.target" "$SYSTEMD_SRC/luks-ssm-gate.service" "$dest/$systemd_lib/system/"
  install -m 0755 "$SYSTEMD_SRC/luks-ssm-generator" "$dest/$systemd_lib/system-generators/"
  install -m 0644 "$docs/defaults" "$dest/etc/default/luks-ssm"
  install -m 0644 "$docs/example.conf.sample" "$dest/etc/luks-ssm/example.conf.sample"
  install -m 0644 "$docs/luks-ssm.8" "$dest/usr/share/man/man8/"
  install -m 0644 "$docs/luks-ssm.conf.5" "$dest/usr/share/man/man5/"
}

# snapshot_app BUILD-DIR OUT: copies the files `npm run build` made (not maps) to OUT, so a rebuild
# running meanwhile cannot mix two builds into one package. The code cache in it is the x86_64 one.
snapshot_app() {
  local build=$1 out=$2 file
  need_file "$build/luks-ssm.cjs" 'npm run build'
  mkdir -p "$out"
  for file in "$build"/*; do
    case $file in
      *.map) ;;
      *) cp -p "$file" "$out/" ;;
    esac
  done
  # The loader's #!/usr/bin/env node is for running build/ from a checkout; installed, it would pick the
  # machine's node (rpmlint: non-executable-script). Only /usr/lib/luks-ssm/node runs it, via /usr/sbin/luks-ssm.
  # A comment in its place keeps the line numbers of stack traces.
  sed -i '1s|^#!.*|// Packaged without its #! line: /usr/sbin/luks-ssm runs it with /usr/lib/luks-ssm/node.|' "$out/luks-ssm.cjs"
}

# set_mtimes DIR: every file's mtime to SOURCE_DATE_EPOCH, so both package formats are reproducible.
set_mtimes() {
  find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}
