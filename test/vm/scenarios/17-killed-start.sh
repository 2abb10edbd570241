#!/bin/bash
# Guest half of 17-killed-start: `luks-ssm start` killed with SIGKILL once the LUKS mapping is open and before the
# mount; the next start (systemctl start, as at boot) mounts the open mapping.
. /mnt/host/product.sh
. /mnt/host/stop-at.sh
STOP_AT_DIR=/run/vm-stop-at

killed_start() {
  [ -f /etc/luks-ssm/$VOLUME.conf ] || { mkdir -p $MOUNT_POINT && write_config && write_dependent && systemctl daemon-reload; }
  systemctl start $UNIT || fail "systemctl start $UNIT: exit $?"
  echo "written before the killed start" >$MOUNT_POINT/killed-start.marker && sync
  systemctl stop $DEP $UNIT || fail "systemctl stop $UNIT: exit $?"
  expect_closed
  # The line start logs right after cryptsetup open (src/volume/unlock-race.ts), before it mounts.
  stop_at start '"msg":"opened ' luks-ssm start $VOLUME
  local pid=$STOP_AT_PID
  wait_for 120 is_settled $pid || fail "luks-ssm start neither stopped nor finished in 120 s: $(cat $STOP_AT_DIR/start.log)"
  [ "$(run_state $pid)" = T ] || fail "luks-ssm start finished before it logged 'opened': $(cat $STOP_AT_DIR/start.log)"
  is_open || fail "stopped after the 'opened' line but /dev/mapper/$MAP does not exist"
  is_mounted && fail "$MOUNT_POINT is already mounted at the 'opened' line: the kill would not fall between open and mount"
  kill -KILL $pid
  local rc
  { wait $pid; } 2>/dev/null # bash's "Killed" job notice
  rc=$?
  expect_eq "exit status of the killed start" $rc 137
  echo "killed luks-ssm start (pid $pid) with SIGKILL: /dev/mapper/$MAP open, $MOUNT_POINT not mounted"
  is_open || fail "the mapping went away with the killed process"
  is_mounted && fail "$MOUNT_POINT got mounted after the kill"
  systemctl start $UNIT || fail "the next start (systemctl start $UNIT) after the killed one: exit $?"
  expect_eq "$UNIT after the next start" "$(prop $UNIT ActiveState)" active
  expect_mounted
  expect_eq "marker written before the killed start" "$(cat $MOUNT_POINT/killed-start.marker 2>/dev/null)" "written before the killed start"
  rm -f $MOUNT_POINT/killed-start.marker
  journal_of $UNIT | grep -q 'is already open, mounting it' || fail "the next start did not say it mounted the open mapping: $(journal_of $UNIT | tail -n 5)"
  echo "next start: $(journal_of $UNIT | grep 'is already open, mounting it' | tail -n 1)"
  luks-ssm status $VOLUME || fail "luks-ssm status after the recovery: exit $?"
  systemctl start $DEP || fail "systemctl start $DEP"
}
