#!/bin/bash
# Guest half of 06-clean-reboot: after a reboot with the volume mounted, the last boot unmounted and closed it
# cleanly (nothing forced or lazy) and this boot's mount needed no journal recovery.
. /mnt/host/product.sh

after_boot() {
  wait_booted 150 || echo "boot not finished: $(systemctl is-system-running)"
  expect_eq "$UNIT" "$(prop $UNIT ActiveState)" active
  expect_mounted
  local last
  last=$(journalctl -b -1 --no-pager -o cat -u $UNIT -u $MOUNT_UNIT)
  echo "== previous boot, $UNIT and $MOUNT_UNIT (last lines)"
  echo "$last" | tail -n 8
  echo "$last" | grep -q "Unmounted $MOUNT_POINT" || fail "previous boot: no 'Unmounted $MOUNT_POINT' line"
  echo "$last" | grep -Eiq 'failed|lazy|force|timed out' && fail "previous boot's stop: $(echo "$last" | grep -Ei 'failed|lazy|force|timed out' | head -3)"
  journalctl -b -1 --no-pager -o cat -t systemd-shutdown | grep -Ei 'not all|remount.*read-only.*fail|detach.*fail' &&
    fail "systemd-shutdown had to force something"
  local dm
  dm=$(basename "$(readlink -f /dev/mapper/$MAP)")
  echo "== this boot's kernel messages for $dm"
  dmesg | grep "($dm)" || fail "no kernel message about mounting $dm"
  dmesg | grep "($dm)" | grep -Eiq 'recover|orphan|error|not clean|unchecked' && fail "the filesystem was not clean"
}
