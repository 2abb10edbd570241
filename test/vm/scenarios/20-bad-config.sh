#!/bin/bash
# Guest half of 20-bad-config: a config with a typo is refused with one line naming file:line, by `check` and by
# the unit, and that line reaches the unit's journal. The file stays (not enabled) for 21-bad-config-at-boot.
. /mnt/host/product.sh

BAD=bad
BAD_CONF=/etc/luks-ssm/$BAD.conf
BAD_UNIT=luks-ssm@$BAD.service
# Line 5 of the file below: the typo every check must name.
BAD_REASON="$BAD_CONF:5: unknown key 'LUKS_DEVICE_MOUNT_OPTS', did you mean 'LUKS_DEVICE_MOUNT_OPT'?"

write_bad_config() {
  install -d -m 0755 /etc/luks-ssm
  (umask 077 && cat >$BAD_CONF) <<CONF
# VM bad-config volume: one typo on line 5; never opened (its device does not exist either).
LUKS_DEVICE=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0000000000000bad
LUKS_DEVICE_MAP=$BAD
LUKS_DEVICE_MOUNT_POINT=/srv/$BAD
LUKS_DEVICE_MOUNT_OPTS=noatime
SSM_PATH=/luks/vm/bad
CONF
}

refused_with_reason() {
  write_bad_config
  local out rc
  out=$(luks-ssm check $BAD 2>&1)
  rc=$?
  echo "luks-ssm check $BAD: exit $rc: $out"
  expect_eq "luks-ssm check exit code" $rc 78
  echo "$out" | grep -qF "$BAD_REASON" || fail "luks-ssm check did not name the typo: $out"

  local since
  since=$(date +%s)
  sleep 1
  systemctl daemon-reload
  systemctl start $BAD_UNIT && fail "systemctl start $BAD_UNIT succeeded with a bad config"
  # Failed, not waiting for a restart: 78 is permanent.
  expect_eq "$BAD_UNIT state" "$(prop $BAD_UNIT ActiveState)/$(prop $BAD_UNIT NRestarts)" failed/0
  expect_eq "$BAD_UNIT exit status" "$(prop $BAD_UNIT ExecMainStatus)" 78
  show "journal of $BAD_UNIT" journalctl --no-pager -o cat -u $BAD_UNIT --since "@$since"
  journalctl --no-pager -o cat -u $BAD_UNIT --since "@$since" | grep -qF "$BAD_REASON" ||
    fail "the reason is not in the journal of $BAD_UNIT"
  # At priority err (a "<3>" prefix journald takes off), so `journalctl -p err` and `systemctl status` show it.
  journalctl --no-pager -o cat -p err -u $BAD_UNIT --since "@$since" | grep -qF "$BAD_REASON" ||
    fail "the reason is in the journal of $BAD_UNIT, but not at priority err"
  systemctl reset-failed $BAD_UNIT
}
