#!/bin/bash
# Guest half of 03-stop-start: stopping the unit stops the dependent first, unmounts, closes; start works again.
. /mnt/host/product.sh

stop_then_start() {
  systemctl stop $UNIT || fail "systemctl stop $UNIT: exit $?"
  expect_eq "$UNIT after stop" "$(prop $UNIT ActiveState)" inactive
  expect_eq "$DEP after stop" "$(prop $DEP ActiveState)" inactive
  expect_closed
  local dep_off mount_off unit_off
  dep_off=$(prop $DEP InactiveEnterTimestampMonotonic)
  mount_off=$(prop $MOUNT_UNIT InactiveEnterTimestampMonotonic)
  unit_off=$(prop $UNIT InactiveEnterTimestampMonotonic)
  echo "stopped at (us): $DEP $dep_off, $MOUNT_UNIT $mount_off, $UNIT $unit_off"
  [ "$dep_off" -gt 0 ] && [ "$dep_off" -le "$unit_off" ] || fail "$DEP stopped after $UNIT"
  [ "$mount_off" -gt 0 ] && [ "$dep_off" -le "$mount_off" ] || fail "$DEP stopped after $MOUNT_UNIT"
  luks-ssm status $VOLUME
  local rc=$?
  expect_eq "luks-ssm status exit code while stopped" $rc 3

  systemctl start $UNIT || fail "systemctl start $UNIT: exit $?"
  expect_eq "$UNIT after start" "$(prop $UNIT ActiveState)" active
  expect_mounted
  [ -s $MOUNT_POINT/dependent.log ] || fail "data written before the stop is gone"
  systemctl start $DEP || fail "systemctl start $DEP"
}
