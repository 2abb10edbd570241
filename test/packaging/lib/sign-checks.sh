# Signing (#11 item 7): with LUKS_SSM_GPG_KEY, packaging/lib/sign.sh signs an RPM and a DEB so that rpm -K and
# gpgv (the DEB's origin signature) accept them against the public key only. A throwaway key in a private GNUPGHOME; nothing global.

# check_signing DEB RPM
check_signing() {
  local dir=$WORK/signing
  rm -rf "$dir" && mkdir -p "$dir/gnupg" && chmod 0700 "$dir/gnupg"
  cp "$1" "$2" "$dir/"
  check "signing: rpm -K accepts the signed RPM" rpm_signed_ok "$dir" "$dir/$(basename "$2")"
  check "signing: the DEB carries a good origin signature by the key (debsigs)" deb_signed_ok "$dir" "$dir/$(basename "$1")"
}

# signer DIR: makes (once) a passphrase-less RSA signing key in DIR/gnupg and prints its fingerprint.
signer() {
  local fpr
  fpr=$(GNUPGHOME=$1/gnupg gpg --batch --with-colons --list-secret-keys 2>/dev/null | awk -F: '/^fpr/ { print $10; exit }')
  if [[ -z $fpr ]]; then
    GNUPGHOME=$1/gnupg gpg --batch --quiet --passphrase '' --quick-gen-key 'luks-ssm test signer <signer@example.invalid>' rsa3072 sign never
    fpr=$(GNUPGHOME=$1/gnupg gpg --batch --with-colons --list-secret-keys | awk -F: '/^fpr/ { print $10; exit }')
  fi
  echo "$fpr"
}

# rpm_signed_ok DIR RPM: unsigned, rpm -K says so; signed, it checks the signature with the imported public key.
rpm_signed_ok() {
  local fpr db=$1/rpmdb
  fpr=$(signer "$1")
  ! rpm --dbpath "$db" -K "$2" | grep -q 'signatures OK' || { echo "unsigned RPM already passes rpm -K"; return 1; }
  (export GNUPGHOME=$1/gnupg LUKS_SSM_GPG_KEY=$fpr; sign_package "$2")
  GNUPGHOME=$1/gnupg gpg --batch --armor --export "$fpr" >"$1/key.asc"
  rpm --dbpath "$db" --initdb && rpm --dbpath "$db" --import "$1/key.asc"
  rpm --dbpath "$db" -K "$2"
  rpm --dbpath "$db" -K "$2" | grep -q 'digests signatures OK'
}

# deb_signed_ok DIR DEB: the _gpgorigin member debsigs adds is a good signature, by the key, over debian-binary,
# control and data: what debsig-verify checks under a policy (run here with gpgv, which needs no policy files).
deb_signed_ok() {
  local fpr
  fpr=$(signer "$1")
  ! ar t "$2" | grep -qx _gpgorigin || { echo "unsigned DEB already has a _gpgorigin member"; return 1; }
  (export GNUPGHOME=$1/gnupg LUKS_SSM_GPG_KEY=$fpr; sign_package "$2")
  GNUPGHOME=$1/gnupg gpg --batch --export "$fpr" >"$1/key.gpg"
  ar p "$2" debian-binary control.tar.xz data.tar.xz >"$1/signed-data"
  ar p "$2" _gpgorigin >"$1/origin.sig"
  gpgv --keyring "$1/key.gpg" "$1/origin.sig" "$1/signed-data"
}
