#!/bin/bash
# Guest half of 13-small-instance: a volume `enroll --format` made unlocks at boot with 512 MiB; a volume whose key
# slot is argon2id with 1 GiB (made on the host) gets check's and start's SLOT_TOO_COSTLY there, and after `rotate`
# (at 1536 MiB) unlocks at boot with 512 MiB too. Called with the two disks' serials: SMALL_SERIAL COSTLY_SERIAL.
. /mnt/host/product.sh

si_dev() {
  echo "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_$1"
}

# si_memory MAX_MIB: print MemTotal, and fail unless this boot has at most MAX_MIB (the instance size under test).
si_memory() {
  local total
  total=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
  echo "memtotal_kib=$total"
  show "free -m" free -m
  [ "$total" -le $(($1 * 1024)) ] || fail "MemTotal ${total} kB: this step needs a guest with at most $1 MiB (run with --memory 512)"
}

# si_config VOLUME SERIAL KEY_LINE: /etc/luks-ssm/VOLUME.conf with no LUKS_PBKDF* (luks-ssm's defaults).
si_config() {
  volume_config "$1" "$2" "VM small-instance volume on the NVMe disk $2." "$3"
}

# si_slots DEV: one line per key slot, "PBKDF memory-or-iterations".
si_slots() {
  cryptsetup luksDump "$1" | awk '/^Keyslots:/ { k = 1; next } /^[A-Z]/ { k = 0 }
    k && /^\tPBKDF:/ { t = $2 } k && /^\tMemory:/ { print t, "memory", $2 } k && /^\tIterations:/ { print t, "iterations", $2 }'
}

# at_512 SMALL COSTLY: first boot, 512 MiB. Enroll the small volume with the defaults and enable it; the costly
# volume's check and start must fail with SLOT_TOO_COSTLY (86), naming the slot's memory and this instance's.
at_512() {
  si_memory 512
  local small costly out status
  small=$(si_dev $1) costly=$(si_dev $2)
  wait_for 20 test -b "$small" || fail "no $small"
  wait_for 20 test -b "$costly" || fail "no $costly"
  si_config small $1 SSM_PATH=/luks-ssm-vm/small
  show "enroll small" luks-ssm enroll small --format --mkfs || fail "luks-ssm enroll small --format --mkfs: exit $?"
  echo "small slots: $(si_slots "$small")"
  si_slots "$small" | grep -qx 'pbkdf2 iterations 1000' || fail "enroll --format made no minimal slot: $(si_slots "$small")"
  luks-ssm check small || fail "luks-ssm check small: exit $?"
  luks-ssm enable small || fail "luks-ssm enable small: exit $?"

  si_config costly $2 SSM_PATH=/luks-ssm-vm/costly
  echo "costly slots: $(si_slots "$costly")"
  si_slots "$costly" | grep -qx 'argon2id memory 1048576' || fail "the host made no 1 GiB argon2id slot: $(si_slots "$costly")"
  out=$(luks-ssm check costly 2>&1); status=$?
  echo "== check costly (exit $status)"; echo "$out"
  [ $status -eq 86 ] || fail "luks-ssm check costly: exit $status, expected 86 (SLOT_TOO_COSTLY)"
  out=$(luks-ssm start costly 2>&1 >/dev/null); status=$?
  echo "== start costly (exit $status)"; echo "$out"
  echo "start_error_lines=$(grep -c '^luks-ssm' <<<"$out")"
  [ $status -eq 86 ] || fail "luks-ssm start costly: exit $status, expected 86 (SLOT_TOO_COSTLY)"
  is_mounted_at /srv/costly && fail "/srv/costly mounted after a failed start"
  [ -e /dev/mapper/costly ] && fail "/dev/mapper/costly open after a failed start"
  return 0
}

is_mounted_at() {
  findmnt -n "$1" >/dev/null
}

# si_expect_up VOLUME: its unit came up at this boot, mounted from its mapping.
si_expect_up() {
  local unit=luks-ssm@$1.service
  wait_for 150 unit_is $unit active || fail "$unit is $(prop $unit ActiveState)/$(prop $unit SubState), expected active: $(journal_of $unit | tail -3)"
  expect_eq "source of /srv/$1" "$(findmnt -n -o SOURCE /srv/$1)" /dev/mapper/$1
  echo "$unit active at $(prop $unit ActiveEnterTimestampMonotonic) us (started $(prop $unit InactiveExitTimestampMonotonic) us)"
}

# rotate_costly COSTLY: second boot, 1536 MiB (enough for the 1 GiB slot): rotate, then only the minimal slot is left.
rotate_costly() {
  local costly; costly=$(si_dev $1)
  show "rotate costly" luks-ssm rotate costly || fail "luks-ssm rotate costly: exit $?"
  echo "costly slots after rotate: $(si_slots "$costly")"
  expect_eq "costly key slots after rotate" "$(si_slots "$costly")" "pbkdf2 iterations 1000"
  luks-ssm enable costly || fail "luks-ssm enable costly: exit $?"
}

# both_up_at_512: third boot, 512 MiB again: both volumes unlocked and mounted at boot; the costly one holds the
# filesystem the host made (label costly), now opened with version 2 of its key.
both_up_at_512() {
  wait_booted 150 || echo "boot not finished: $(systemctl is-system-running)"
  si_memory 512
  si_expect_up small
  si_expect_up costly
  expect_eq "label of /dev/mapper/costly" "$(blkid -s LABEL -o value /dev/mapper/costly)" costly
  luks-ssm status costly | grep -q "^unlocked: .* version 2\b" || fail "costly not unlocked with version 2: $(luks-ssm status costly)"
  show "check costly" luks-ssm check costly || fail "luks-ssm check costly at 512 MiB after rotate: exit $?"
}
