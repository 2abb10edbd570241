#!/bin/bash
# Guest half of 08-lifecycle: enroll a blank disk, enable it, reboot, rotate, reboot: it still unlocks, data intact.
. /mnt/host/product.sh

LC_VOLUME=scratch
LC_UNIT=luks-ssm@scratch.service
LC_MOUNT=/srv/scratch
LC_DEV=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_$SCRATCH_SERIAL

lc_expect_unlocked() {
  wait_for 150 unit_is $LC_UNIT active || fail "$LC_UNIT is $(prop $LC_UNIT ActiveState)/$(prop $LC_UNIT SubState), expected active"
  expect_eq "source of $LC_MOUNT" "$(findmnt -n -o SOURCE $LC_MOUNT)" /dev/mapper/scratch
  show status luks-ssm status $LC_VOLUME
}

enroll_and_enable() {
  wait_for 20 test -b "$LC_DEV" || fail "no $LC_DEV"
  # 00-smoke left a LUKS volume on the scratch disk: zero its header area, as a new EBS volume reads.
  dd if=/dev/zero of="$LC_DEV" bs=1M count=32 conv=fsync status=none || fail "zeroing $LC_DEV"
  install -d -m 0755 /etc/luks-ssm $LC_MOUNT
  (umask 077 && cat >/etc/luks-ssm/$LC_VOLUME.conf) <<CONF
# VM lifecycle volume: enrolled by luks-ssm on a blank NVMe disk.
LUKS_DEVICE=vol-${SCRATCH_SERIAL#vol}
LUKS_DEVICE_MAP=scratch
LUKS_DEVICE_FS=ext4
LUKS_DEVICE_MOUNT_POINT=$LC_MOUNT
SSM_PATH=/luks/vm/scratch
$(emulator_config_lines)
LUKS_PBKDF=pbkdf2
LUKS_PBKDF_FORCE_ITERATIONS=1000
CONF
  luks-ssm enroll $LC_VOLUME --format --dry-run || fail "enroll --dry-run: exit $?"
  cryptsetup isLuks "$LC_DEV" && fail "--dry-run formatted $LC_DEV"
  show enroll luks-ssm enroll $LC_VOLUME --format --mkfs || fail "luks-ssm enroll: exit $?"
  cryptsetup isLuks "$LC_DEV" || fail "$LC_DEV is not LUKS after enroll"
  luks-ssm enroll $LC_VOLUME --format | grep -q 'is already enrolled' || fail "a second enroll did not say it is already enrolled"
  luks-ssm check $LC_VOLUME || fail "luks-ssm check: exit $?"
  luks-ssm enable $LC_VOLUME || fail "luks-ssm enable: exit $?"
}

after_first_boot() {
  wait_booted 150 || echo "boot not finished: $(systemctl is-system-running)"
  lc_expect_unlocked
  luks-ssm status $LC_VOLUME | grep -q 'version 1' || fail "not unlocked with version 1"
  echo "written before rotate" >$LC_MOUNT/marker && sync
  show rotate luks-ssm rotate $LC_VOLUME || fail "luks-ssm rotate: exit $?"
  local slots
  slots=$(cryptsetup luksDump "$LC_DEV" | awk '/^Keyslots:/ { k = 1; next } /^[A-Z]/ { k = 0 } k && /^ +[0-9]+: luks2/' | wc -l)
  luks-ssm check $LC_VOLUME || fail "luks-ssm check after rotate: exit $?"
  echo "key slots after rotate: $slots"
}

after_second_boot() {
  wait_booted 150 || echo "boot not finished: $(systemctl is-system-running)"
  lc_expect_unlocked
  luks-ssm status $LC_VOLUME | grep -q 'version 2' || fail "not unlocked with version 2 after rotate"
  expect_eq "marker" "$(cat $LC_MOUNT/marker)" "written before rotate"
}
