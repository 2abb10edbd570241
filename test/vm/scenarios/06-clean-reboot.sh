#!/bin/bash
# Guest half of 06-clean-reboot: after a reboot with the volume mounted, the last boot unmounted and closed it
# cleanly (nothing forced or lazy) and this boot's mount needed no journal recovery. The host checks that
# systemd-shutdown found nothing left to unmount or detach (its lines reach only the serial console).
. /mnt/host/product.sh

after_boot() {
  wait_for 150 unit_is $UNIT active || fail "$UNIT is $(prop $UNIT ActiveState)/$(prop $UNIT SubState), expected active"
  expect_mounted
  local last
  # The previous boot's shutdown: from the last "Unmounting" of the mount unit to the end of that boot.
  last=$(journalctl -b -1 --no-pager -o cat -u $UNIT -u $MOUNT_UNIT | awk '/^Unmounting/ { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }')
  echo "== previous boot's shutdown, $MOUNT_UNIT and $UNIT"
  echo "$last"
  echo "$last" | grep -Eq "^Unmounted .*($MOUNT_UNIT|$MOUNT_POINT)" || fail "previous boot: $MOUNT_POINT was not unmounted by its mount unit"
  echo "$last" | grep -Eq "^Stopped .*$UNIT|^Stopped .*volume $VOLUME" || fail "previous boot: $UNIT did not stop"
  if echo "$last" | grep -Eiq 'failed|lazy|forc|timed out|busy'; then
    fail "previous boot's stop: $(echo "$last" | grep -Ei 'failed|lazy|forc|timed out|busy' | head -3)"
  fi
  local dm
  dm=$(basename "$(readlink -f /dev/mapper/$MAP)")
  echo "== this boot's kernel messages for $dm"
  dmesg | grep "($dm)" || fail "no kernel message about mounting $dm"
  if dmesg | grep "($dm)" | grep -Eiq 'recover|orphan|error|not clean|unchecked'; then
    fail "the filesystem was not clean: $(dmesg | grep "($dm)" | grep -Ei 'recover|orphan|error|not clean|unchecked' | head -2)"
  fi
  echo "clean reboot ok"
}
