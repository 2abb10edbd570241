#!/bin/bash
# Guest half of 03-stop-start: stopping the unit stops the dependent first, unmounts, closes; start works again.
. /mnt/host/product.sh

# unit_event_time SINCE UNIT WORD: seconds since boot of systemd's first "WORD …" line about UNIT after SINCE
# (epoch s). Read from the unit's own journal: systemd < 250 names a unit by its Description only ("Stopped VM
# test dependent…", "Unmounted LUKS volume data on /srv/data…"), later ones by name and Description.
unit_event_time() {
  journalctl -b --no-pager -o short-monotonic --since "@$1" -u "$2" | grep -m1 -E "systemd\[1\]: $3 " |
    sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p'
}

stop_then_start() {
  local since
  since=$(date +%s)
  sleep 1
  systemctl stop $UNIT || fail "systemctl stop $UNIT: exit $?"
  expect_eq "$UNIT after stop" "$(prop $UNIT ActiveState)" inactive
  expect_eq "$DEP after stop" "$(prop $DEP ActiveState)" inactive
  expect_closed
  local dep_off umount_at unit_off
  dep_off=$(unit_event_time "$since" $DEP Stopped)
  umount_at=$(unit_event_time "$since" $MOUNT_UNIT Unmounted)
  unit_off=$(unit_event_time "$since" $UNIT Stopped)
  echo "stopped at (s since boot): $DEP ${dep_off:-?}, unmounted ${umount_at:-?}, $UNIT ${unit_off:-?}"
  not_after "$dep_off" "$umount_at" || fail "$DEP was not stopped before the unmount"
  not_after "$umount_at" "$unit_off" || fail "$MOUNT_POINT was not unmounted before $UNIT stopped"
  luks-ssm status $VOLUME
  local rc=$?
  expect_eq "luks-ssm status exit code while stopped" $rc 3

  systemctl start $UNIT || fail "systemctl start $UNIT: exit $?"
  expect_eq "$UNIT after start" "$(prop $UNIT ActiveState)" active
  expect_mounted
  [ -s $MOUNT_POINT/dependent.log ] || fail "data written before the stop is gone"
  systemctl start $DEP || fail "systemctl start $DEP"
}

# start_by_uuid: the same volume named as LUKS_DEVICE=UUID=… (found through udev's /dev/disk/by-uuid) opens
# and mounts the same disk; the config's original device line is put back for the scenarios after this one.
start_by_uuid() {
  local conf=/etc/luks-ssm/$VOLUME.conf uuid original
  uuid=$(cryptsetup luksUUID "$DATA_DEV") || fail "cryptsetup luksUUID $DATA_DEV: exit $?"
  [ -e "/dev/disk/by-uuid/$uuid" ] || fail "udev made no /dev/disk/by-uuid/$uuid for $DATA_DEV"
  original=$(grep '^LUKS_DEVICE=' "$conf") || fail "$conf has no LUKS_DEVICE line"
  systemctl stop $UNIT || fail "systemctl stop $UNIT: exit $?"
  expect_closed
  sed -i "s|^LUKS_DEVICE=.*|LUKS_DEVICE=UUID=$uuid|" "$conf"
  systemctl daemon-reload
  systemctl start $UNIT || fail "systemctl start $UNIT with LUKS_DEVICE=UUID=$uuid: exit $?"
  expect_eq "$UNIT after start by UUID" "$(prop $UNIT ActiveState)" active
  expect_mounted
  echo "opened $DATA_DEV as UUID=$uuid"
  sed -i "s|^LUKS_DEVICE=.*|$original|" "$conf"
  systemctl daemon-reload
  systemctl start $DEP || fail "systemctl start $DEP"
}

# umount_then_symlink_chain: systemd never mounts the volume itself (review 9). After an umount by hand the unit stays
# active with the volume open; whoever owns a parent of the mount point puts a chain of 35 symlinks where it was
# (over systemd's 32, under the kernel's 40) and a unit with RequiresMountsFor= on it starts. Its start job of the
# mount unit fails its assertion (the path What= names does not exist) before systemd would create the mount point
# or run mount(8): nothing is mounted anywhere, and a REQUIRED_BY unit started then fails too. Before (What=/dev/mapper/data),
# systemd mounted the volume onto the chain's target.
umount_then_symlink_chain() {
  [ "$(prop $UNIT ActiveState)" = active ] && is_mounted || fail "needs $UNIT active and $MOUNT_POINT mounted"
  systemctl stop $DEP || fail "systemctl stop $DEP"
  umount $MOUNT_POINT || fail "umount $MOUNT_POINT: exit $?"
  local target=/srv/chain-target chain=/srv/chain i
  rm -rf $target $chain; install -d -m 0755 $target $chain
  ln -s $target $chain/l34
  for i in $(seq 33 -1 0); do ln -s l$((i + 1)) $chain/l$i; done
  rmdir $MOUNT_POINT || fail "rmdir $MOUNT_POINT"
  ln -s $chain/l0 $MOUNT_POINT
  [ "$(readlink -f $MOUNT_POINT)" = $target ] || fail "the chain does not reach $target"
  systemd-run --quiet --unit vm-needs-mount -p RequiresMountsFor=$MOUNT_POINT -p Type=oneshot /bin/true
  local rc=$?
  # A REQUIRED_BY unit started now fails too (its drop-in requires the mount unit), instead of writing through the chain.
  systemctl start $DEP && fail "$DEP (REQUIRED_BY) started with the volume unmounted and a symlink chain at $MOUNT_POINT"
  [ -e $target/dependent.log ] && fail "$DEP wrote into $target through the symlink chain"
  local mounted_at; mounted_at=$(findmnt -n -o TARGET -S /dev/mapper/$MAP)
  rm -f $MOUNT_POINT; rm -rf $chain
  findmnt -n $target >/dev/null && fail "systemd mounted the volume on $target through the symlink chain at $MOUNT_POINT"
  [ -z "$mounted_at" ] || fail "the volume is mounted at $mounted_at"
  [ $rc -ne 0 ] || fail "a unit with RequiresMountsFor=$MOUNT_POINT started with a symlink chain there"
  echo "RequiresMountsFor= unit: systemd-run exit $rc; $MOUNT_UNIT $(prop $MOUNT_UNIT ActiveState)/$(prop $MOUNT_UNIT Result); nothing mounted"
  rmdir $target
  systemctl reset-failed vm-needs-mount.service $MOUNT_UNIT 2>/dev/null
  systemctl restart $UNIT || fail "systemctl restart $UNIT after the chain was removed: exit $?"
  expect_mounted
  systemctl start $DEP || fail "systemctl start $DEP"
}
