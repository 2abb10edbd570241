# Signing (#11 item 7): with LUKS_SSM_GPG_KEY, packaging/lib/sign.sh signs an RPM and a DEB so that rpm -K and
# debsig-verify accept them against the public key only. A throwaway key in a private GNUPGHOME; nothing global.

# check_signing DEB RPM
check_signing() {
  local dir=$WORK/signing
  rm -rf "$dir" && mkdir -p "$dir/gnupg" && chmod 0700 "$dir/gnupg"
  cp "$1" "$2" "$dir/"
  check "signing: rpm -K accepts the signed RPM" rpm_signed_ok "$dir" "$dir/$(basename "$2")"
  check "signing: debsig-verify accepts the signed DEB" deb_signed_ok "$dir" "$dir/$(basename "$1")"
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

# deb_signed_ok DIR DEB: debsig-verify with a policy and keyring of our own (--policies-dir/--keyrings-dir).
deb_signed_ok() {
  local fpr id
  fpr=$(signer "$1")
  id=${fpr: -16}
  (export GNUPGHOME=$1/gnupg LUKS_SSM_GPG_KEY=$fpr; sign_package "$2")
  mkdir -p "$1/policies/$id" "$1/keyrings/$id"
  GNUPGHOME=$1/gnupg gpg --batch --export "$fpr" >"$1/keyrings/$id/luks-ssm.gpg"
  cat >"$1/policies/$id/luks-ssm.pol" <<POLICY
<?xml version="1.0"?>
<!DOCTYPE Policy SYSTEM "https://www.debian.org/debsig/1.0/policy.dtd">
<Policy xmlns="https://www.debian.org/debsig/1.0/">
  <Origin Name="luks-ssm" id="$id" Description="luks-ssm packages"/>
  <Selection><Required Type="origin" File="luks-ssm.gpg" id="$id"/></Selection>
  <Verification MinOptional="0"><Required Type="origin" File="luks-ssm.gpg" id="$id"/></Verification>
</Policy>
POLICY
  debsig-verify --policies-dir "$1/policies" --keyrings-dir "$1/keyrings" "$2"
}
