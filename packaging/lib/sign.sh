# Optional package signing, sourced by build.sh: hardened hosts refuse unsigned local packages (RPM gpgcheck,
# debsig-verify). LUKS_SSM_GPG_KEY names a secret key in the builder's GnuPG keyring (GNUPGHOME honoured) that
# signs without a prompt; unset, packages stay unsigned (and byte-for-byte reproducible).

# need_signing_tools: when a key is given, the signers are there (checked before a minute of compression).
need_signing_tools() {
  [[ -n ${LUKS_SSM_GPG_KEY:-} ]] || return 0
  need_tool gpg gnupg
  need_tool rpmsign rpm
  need_tool debsigs debsigs
}

# sign_package FILE: signs FILE in place with LUKS_SSM_GPG_KEY (no-op when unset): an RPM header signature
# (rpmsign --addsign, checked by rpm -K / dnf's gpgcheck), a DEB "origin" signature (debsigs: a _gpgorigin
# member, checked by debsig-verify with a policy naming the key).
sign_package() {
  local file=$1 key=${LUKS_SSM_GPG_KEY:-}
  [[ -n $key ]] || return 0
  case $file in
    # %__gpg is /usr/bin/gpg2 in Debian's rpm; gpg is the same program under the name every distribution has.
    *.rpm) rpmsign --addsign --define "_gpg_name $key" --define "__gpg $(command -v gpg)" "$file" >/dev/null 2>&1 \
      || die "Failed to sign $file with rpmsign: is LUKS_SSM_GPG_KEY=$key a secret key without a passphrase prompt (gpg -K)?" ;;
    *.deb) debsigs --sign=origin --default-key="$key" "$file" >/dev/null 2>&1 \
      || die "Failed to sign $file with debsigs: is LUKS_SSM_GPG_KEY=$key a secret key without a passphrase prompt (gpg -K)?" ;;
  esac
}
