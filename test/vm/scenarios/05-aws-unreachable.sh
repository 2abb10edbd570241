#!/bin/bash
# Guest half of 05-aws-unreachable: booting with the emulator down fails the unit in time and starts nothing
# that needs the volume; once the host brings the emulator back, `systemctl start` succeeds.
. /mnt/host/product.sh

# first_failure: waits (bounded) for the unit's first start attempt to end and checks how it failed.
first_failure() {
  wait_for $((TIMEOUT_SEC + 90)) test "$(prop $UNIT ExecMainExitTimestampMonotonic)" -gt 0 ||
    fail "$UNIT never finished a start attempt: $(prop $UNIT ActiveState)/$(prop $UNIT SubState)"
  local start exit status took
  start=$(prop $UNIT ExecMainStartTimestampMonotonic)
  exit=$(prop $UNIT ExecMainExitTimestampMonotonic)
  status=$(prop $UNIT ExecMainStatus)
  took=$(((exit - start) / 1000000))
  echo "first attempt: exit status $status after ${took} s (TIMEOUT_SEC=$TIMEOUT_SEC); unit $(prop $UNIT ActiveState)/$(prop $UNIT SubState)"
  journal_of $UNIT | tail -n 8
  case $status in 69 | 75) ;; *) fail "$UNIT exited $status, expected 69 (AWS unavailable) or 75 (timeout)" ;; esac
  [ "$took" -le $((TIMEOUT_SEC + 10)) ] || fail "$UNIT took ${took} s to fail, deadline TIMEOUT_SEC=$TIMEOUT_SEC"
  journalctl -b --no-pager -o cat -t luks-ssm | grep -iq 'fail' ||
    fail "no luks-ssm journal line saying what failed"
  [ "$(prop $DEP ActiveState)" != active ] || fail "$DEP is active although the volume is not"
  expect_eq "$DEP start time this boot" "$(prop $DEP ExecMainStartTimestampMonotonic)" 0
  expect_closed
}

recover() {
  timeout 120 systemctl start $UNIT || fail "systemctl start $UNIT with the emulator back: exit $?"
  expect_eq "$UNIT after start" "$(prop $UNIT ActiveState)" active
  expect_mounted
  systemctl start $DEP || fail "systemctl start $DEP"
  grep -q "^$(cat /proc/sys/kernel/random/boot_id) " $MOUNT_POINT/dependent.log || fail "$DEP wrote nothing this boot"
}
