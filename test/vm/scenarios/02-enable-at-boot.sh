#!/bin/bash
# Guest half of 02-enable-at-boot: configure and enable a volume, then after a reboot check it came up.
. /mnt/host/product.sh

configure_and_enable() {
  mkdir -p $MOUNT_POINT
  write_config
  write_dependent
  systemctl daemon-reload
  systemctl enable $DEP || fail "systemctl enable $DEP"
  luks-ssm check $VOLUME || fail "luks-ssm check $VOLUME: exit $?"
  luks-ssm enable $VOLUME || fail "luks-ssm enable $VOLUME: exit $?"
  expect_eq "systemctl is-enabled $UNIT" "$(systemctl is-enabled $UNIT)" enabled
  expect_closed
}

after_boot() {
  wait_booted 150 || echo "boot not finished: $(systemctl is-system-running)"
  wait_for 120 unit_is $UNIT active || fail "$UNIT is $(prop $UNIT ActiveState)/$(prop $UNIT SubState), expected active"
  show unit systemctl status --no-pager $UNIT
  echo "$UNIT restarts this boot: $(prop $UNIT NRestarts)"
  expect_mounted
  wait_for 30 unit_is $DEP active || fail "$DEP is $(prop $DEP ActiveState), expected active"
  local boot_id stamp
  boot_id=$(cat /proc/sys/kernel/random/boot_id)
  grep -q "^$boot_id " $MOUNT_POINT/dependent.log || fail "$DEP wrote nothing into $MOUNT_POINT this boot"
  expect_eq "filesystem holding dependent.log" "$(findmnt -n -o SOURCE --target $MOUNT_POINT/dependent.log)" /dev/mapper/$MAP
  [ "$(stat -c %d $MOUNT_POINT/dependent.log)" != "$(stat -c %d /)" ] || fail "dependent.log is on the root disk"
  # The dependent starts only once the volume is up (systemd timestamps, microseconds since boot).
  local up started
  up=$(prop $UNIT ActiveEnterTimestampMonotonic)
  started=$(prop $DEP ExecMainStartTimestampMonotonic)
  echo "volume active at ${up} us, dependent started at ${started} us"
  [ "$started" -ge "$up" ] || fail "$DEP started ($started us) before $UNIT was active ($up us)"
  luks-ssm status $VOLUME || fail "luks-ssm status: exit $?"
}
