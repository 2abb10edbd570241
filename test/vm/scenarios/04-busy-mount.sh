#!/bin/bash
# Guest half of 04-busy-mount: a process outside any unit ordering holds the mount; stop refuses and names it.
. /mnt/host/product.sh

busy_stop() {
  local since holder out rc
  since=$(date +%s)
  # setsid: its own session, like a login shell's job; not ordered against the volume in any way.
  setsid sh -c "cd $MOUNT_POINT && exec sleep 300" </dev/null >/dev/null 2>&1 &
  holder=$!
  holder_in_place() { [ "$(readlink /proc/$holder/cwd)" = $MOUNT_POINT ] && [ "$(cat /proc/$holder/comm)" = sleep ]; }
  wait_for 10 holder_in_place || fail "holder did not start in $MOUNT_POINT"
  echo "holder: pid $holder ($(cat /proc/$holder/comm))"

  out=$(luks-ssm stop $VOLUME 2>&1)
  rc=$?
  echo "luks-ssm stop: exit $rc: $out"
  expect_eq "luks-ssm stop exit code on a busy mount" $rc 81
  case $out in *"$holder"*) ;; *) fail "luks-ssm stop did not name holder pid $holder: $out" ;; esac

  systemctl stop $UNIT
  echo "systemctl stop: exit $?; $UNIT is $(prop $UNIT ActiveState)"
  sleep 1
  journal_of $UNIT | tail -n 8
  journalctl -b --no-pager -o cat -u $UNIT --since "@$since" | grep -q "$holder" ||
    fail "the journal of $UNIT does not name holder pid $holder"
  is_mounted || fail "the volume was unmounted while pid $holder held it"
  is_open || fail "the mapping was closed while pid $holder held the mount"
  [ -s $MOUNT_POINT/dependent.log ] || fail "data not readable after the refused stop"
  [ "$(readlink /proc/$holder/cwd)" = $MOUNT_POINT ] || fail "holder pid $holder lost its directory"

  kill $holder
  holder_gone() { ! kill -0 $holder 2>/dev/null; }
  wait_for 10 holder_gone || fail "holder pid $holder did not exit"
  systemctl reset-failed $UNIT $MOUNT_UNIT 2>/dev/null
  systemctl start $UNIT || fail "systemctl start $UNIT after the holder left: exit $?"
  expect_eq "$UNIT after restart" "$(prop $UNIT ActiveState)" active
  expect_mounted
  systemctl start $DEP || fail "systemctl start $DEP"
}
