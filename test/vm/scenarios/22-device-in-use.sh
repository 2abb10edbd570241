#!/bin/bash
# Guest half of 22-device-in-use: a disk that is already open under another name (a second config that names it
# by UUID, or an open by hand as crypttab would do) is refused by start at once, naming what holds it; the key is
# not fetched, nothing is opened or mounted, and what holds the disk is left as it was.
. /mnt/host/product.sh
OTHER=other

# refused_start VOLUME HOLDER: `luks-ssm start VOLUME` ends with DEVICE_IN_USE (88) and a line naming HOLDER; what it
# printed is left in $out. Both volumes here are mapped under their own name (data, other).
refused_start() {
  local t0 rc
  t0=$(date +%s%N)
  out=$(timeout 150 luks-ssm start "$1" 2>&1)
  rc=$?
  echo "luks-ssm start $1: exit $rc after $((($(date +%s%N) - t0) / 1000000)) ms: $(echo "$out" | tail -n 2)"
  expect_eq "exit status of luks-ssm start $1 on a disk open as $2" $rc 88
  echo "$out" | grep -q "already open as $2" || fail "luks-ssm start $1 did not name the mapping $2 holding the disk: $out"
  [ -e /dev/mapper/$1 ] && fail "/dev/mapper/$1 was opened on a disk already open as $2"
  return 0
}

device_in_use() {
  # A failure half way must not leave the disk held (every later scenario would then fail with 88) or a crypttab line.
  trap 'cryptsetup close byhand 2>/dev/null; sed -i "/^byhand /d" /etc/crypttab 2>/dev/null; rm -f /etc/luks-ssm/$OTHER.conf' EXIT
  [ -f /etc/luks-ssm/$VOLUME.conf ] || { mkdir -p $MOUNT_POINT && write_config && write_dependent && systemctl daemon-reload; }
  systemctl start $UNIT || fail "systemctl start $UNIT: exit $?"
  expect_mounted
  local uuid
  uuid=$(cryptsetup luksUUID "$DATA_DEV") || fail "cryptsetup luksUUID $DATA_DEV: exit $?"

  # 1. A second config for the same disk, named by UUID (so its volume locks differ), while the first has it open.
  install -d -m 0755 /srv/$OTHER
  (umask 077 && cat >/etc/luks-ssm/$OTHER.conf) <<CONF
# VM test: a second config for the data disk, by UUID.
LUKS_DEVICE=UUID=$uuid
LUKS_DEVICE_MAP=$OTHER
LUKS_DEVICE_FS=ext4
LUKS_DEVICE_MOUNT_POINT=/srv/$OTHER
SSM_PATH=$SSM_PATH
$(TIMEOUT_SEC=30 emulator_config_lines)
CONF
  refused_start $OTHER $MAP
  local rc
  out=$(timeout 150 luks-ssm check $OTHER 2>&1)
  rc=$?
  echo "luks-ssm check $OTHER: exit $rc: $(echo "$out" | grep -A1 '^warn  device')"
  expect_eq "exit status of luks-ssm check $OTHER (a warning: the key is still tested)" $rc 0
  echo "$out" | grep -q "^warn  device .*open as $MAP (/dev/mapper/$MAP) now: start refuses it" || fail "luks-ssm check $OTHER did not warn at the device step naming $MAP: $out"
  echo "$out" | grep -q "^ok    key " || fail "luks-ssm check $OTHER did not test the key beside the open disk: $out"
  expect_mounted
  mountpoint -q /srv/$OTHER && fail "/srv/$OTHER got mounted"
  rm -f /etc/luks-ssm/$OTHER.conf && rmdir /srv/$OTHER

  # 2. The disk opened by hand under another name, as the crypttab line left behind says (noauto, and nothing needs
  # /dev/mapper/byhand: no boot effect on the scenarios after this one; without it systemd would open it at boot).
  systemctl stop $DEP $UNIT || fail "systemctl stop $UNIT: exit $?"
  expect_closed
  echo "byhand $DATA_DEV none luks,noauto" >>/etc/crypttab
  local key_file=/dev/shm/luks-ssm-in-use.key
  (umask 077 && printf '%s' "$BENCH_KEY" >$key_file)
  cryptsetup open --type luks --key-file=$key_file "$DATA_DEV" byhand || fail "cryptsetup open $DATA_DEV byhand: exit $?"
  rm -f $key_file
  refused_start $VOLUME byhand
  echo "$out" | grep -q "/etc/crypttab:[0-9]* opens it as byhand: remove that line" || fail "start did not name the crypttab line as the cause: $out"
  [ -e /dev/mapper/byhand ] || fail "the mapping opened by hand is gone"
  is_mounted && fail "$MOUNT_POINT got mounted"
  cryptsetup close byhand || fail "cryptsetup close byhand: exit $?"

  # 3. The line still there, the disk closed: check passes, with a warning naming the line.
  out=$(timeout 150 luks-ssm check $VOLUME 2>&1)
  rc=$?
  echo "luks-ssm check $VOLUME: exit $rc: $(echo "$out" | grep -A1 '^warn  crypttab')"
  expect_eq "exit status of luks-ssm check $VOLUME with a crypttab line for its disk" $rc 0
  echo "$out" | grep -q "^warn  crypttab .*/etc/crypttab:[0-9]* names .* too" || fail "check did not warn about the crypttab line: $out"
  sed -i '/^byhand /d' /etc/crypttab

  systemctl start $UNIT $DEP || fail "systemctl start $UNIT $DEP after the refusals: exit $?"
  expect_mounted
}
