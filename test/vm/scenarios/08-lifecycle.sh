#!/bin/bash
# Guest half of 08-lifecycle: for each key source (ssm on the scratch disk, kms on the kms disk) enroll a blank
# disk, enable it, reboot, rotate, reboot: it still unlocks, data intact. Both volumes share the two reboots.
. /mnt/host/product.sh

# lc_volumes: "volume key-source serial" per line; the volume is also the mapping name and /srv/<volume>.
lc_volumes() {
  echo "scratch ssm $SCRATCH_SERIAL"
  echo "kmsvol kms $KMS_SERIAL"
}

lc_dev() {
  echo "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_$1"
}

lc_expect_unlocked() {
  local volume=$1 unit=luks-ssm@$1.service
  wait_for 150 unit_is $unit active || fail "$unit is $(prop $unit ActiveState)/$(prop $unit SubState), expected active"
  expect_eq "source of /srv/$volume" "$(findmnt -n -o SOURCE /srv/$volume)" /dev/mapper/$volume
  show "status $volume" luks-ssm status $volume
}

# lc_key_lines SOURCE: the config lines that choose where the passphrase lives.
lc_key_lines() {
  case $1 in
    ssm) echo "SSM_PATH=/luks/vm/scratch" ;;
    kms) printf '%s\n' KEY_SOURCE=kms KMS_KEY_ID=alias/luks-ssm-vm ;;
  esac
}

lc_keyslots() {
  cryptsetup luksDump "$1" | awk '/^Keyslots:/ { k = 1; next } /^[A-Z]/ { k = 0 } k && /^ +[0-9]+: luks2/' | wc -l
}

enroll_and_enable() {
  local volume source serial dev
  emulator_forwarder
  while read -r volume source serial; do
    dev=$(lc_dev "$serial")
    wait_for 20 test -b "$dev" || fail "no $dev"
    # 00-smoke left a LUKS volume on the scratch disk: zero its header area, as a new EBS volume reads.
    dd if=/dev/zero of="$dev" bs=1M count=32 conv=fsync status=none || fail "zeroing $dev"
    install -d -m 0755 /etc/luks-ssm /srv/$volume
    (umask 077 && cat >/etc/luks-ssm/$volume.conf) <<CONF
# VM lifecycle volume: enrolled by luks-ssm on a blank NVMe disk, key source $source.
LUKS_DEVICE=vol-${serial#vol}
LUKS_DEVICE_MAP=$volume
LUKS_DEVICE_FS=ext4
LUKS_DEVICE_MOUNT_POINT=/srv/$volume
$(lc_key_lines $source)
$(emulator_config_lines)
LUKS_PBKDF=pbkdf2
LUKS_PBKDF_FORCE_ITERATIONS=1000
CONF
    luks-ssm enroll $volume --format --dry-run || fail "$volume ($source): enroll --dry-run: exit $?"
    cryptsetup isLuks "$dev" && fail "$volume ($source): --dry-run formatted $dev"
    show "enroll $volume ($source)" luks-ssm enroll $volume --format --mkfs || fail "$volume ($source): luks-ssm enroll: exit $?"
    cryptsetup isLuks "$dev" || fail "$volume ($source): $dev is not LUKS after enroll"
    luks-ssm enroll $volume --format | grep -q 'is already enrolled' || fail "$volume ($source): a second enroll did not say it is already enrolled"
    luks-ssm check $volume || fail "$volume ($source): luks-ssm check: exit $?"
    luks-ssm enable $volume || fail "$volume ($source): luks-ssm enable: exit $?"
  done < <(lc_volumes)
}

# lc_expect_first_key: both volumes are up with version 1, the key enroll stored.
lc_expect_first_key() {
  local volume source serial
  while read -r volume source serial; do
    lc_expect_unlocked $volume
    luks-ssm status $volume | grep -q "^unlocked: .*$source.* version 1\b" || fail "$volume ($source): not unlocked with version 1: $(luks-ssm status $volume)"
  done < <(lc_volumes)
}

# after_first_boot: both volumes came up at boot with version 1 (light: it runs inside the boot's bound).
after_first_boot() {
  wait_booted 150 || echo "boot not finished: $(systemctl is-system-running)"
  lc_expect_first_key
}

# start_both: instead of a reboot after enroll (Debian 11 and 13), both units started by hand (side by side, as at
# boot), with version 1.
start_both() {
  local units
  units=$(lc_volumes | awk '{ print "luks-ssm@" $1 ".service" }')
  systemctl start $units || fail "systemctl start $(echo $units): exit $?"
  lc_expect_first_key
}

# rotate_both: a marker in each volume, then rotate it (a step of its own: two rotations are slow under TCG).
rotate_both() {
  local volume source serial dev
  while read -r volume source serial; do
    dev=$(lc_dev "$serial")
    echo "written before rotate" >/srv/$volume/marker && sync
    show "rotate $volume ($source)" luks-ssm rotate $volume || fail "$volume ($source): luks-ssm rotate: exit $?"
    luks-ssm check $volume || fail "$volume ($source): luks-ssm check after rotate: exit $?"
    echo "$volume key slots after rotate: $(lc_keyslots "$dev")"
  done < <(lc_volumes)
}

after_second_boot() {
  wait_booted 150 || echo "boot not finished: $(systemctl is-system-running)"
  local volume source serial
  while read -r volume source serial; do
    lc_expect_unlocked $volume
    luks-ssm status $volume | grep -q "^unlocked: .*$source.* version 2\b" || fail "$volume ($source): not unlocked with version 2 after rotate: $(luks-ssm status $volume)"
    expect_eq "$volume marker" "$(cat /srv/$volume/marker)" "written before rotate"
  done < <(lc_volumes)
}
