#!/bin/bash
# Guest half of 10-boot-figures: the boot critical path of the boot-time unlock 02-enable-at-boot's reboot did.
. /mnt/host/product.sh

# usec_of TEXT: the monotonic time (µs) of this boot's first journal line of the unit containing TEXT.
usec_of() {
  journalctl -b -u $UNIT -o short-monotonic --no-pager | grep -m1 -F "$1" | sed -E 's/^\[ *([0-9]+)\.([0-9]{6})\].*/\1\2/'
}

# now_us: wall-clock µs, for the short intervals measured here.
now_us() {
  echo $(($(date +%s%N) / 1000))
}

# median of the arguments (integers).
median() {
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# boot_figures: the boot critical path of this boot's unlock, from the unit's and the journal's monotonic timestamps,
# beside `node -e 0` (the bundled runtime) and a bare cryptsetup open + mount of the same disk with a key from a
# file (key slot 1, same PBKDF as the unit's slot 0). Prints ms figures and boot_overhead_vs_node=N; leaves the
# volume unlocked and mounted again, as it found it.
boot_figures() {
  local begin active key opened mounted
  begin=$(prop $UNIT InactiveExitTimestampMonotonic)
  active=$(prop $UNIT ActiveEnterTimestampMonotonic)
  key=$(usec_of 'fetched ')
  opened=$(usec_of 'opened ')
  mounted=$(usec_of 'mounted /dev/mapper/')
  for v in begin active key opened mounted; do
    [ -n "${!v}" ] && [ "${!v}" -gt 0 ] || fail "boot figures: no timestamp for $v (journal of $UNIT this boot)"
  done
  local node_runs=() i t
  for i in 1 2 3 4 5; do
    t=$(now_us); /usr/lib/luks-ssm/node -e 0 || fail "node -e 0"; node_runs+=($(($(now_us) - t)))
  done
  local node_us; node_us=$(median "${node_runs[@]}")

  systemctl stop $DEP $UNIT || fail "systemctl stop $UNIT"
  expect_closed
  # Its own mount point: the generated srv-data.mount stays out of it.
  local key_file=/dev/shm/luks-ssm-bench.key bench_dir=/mnt/luks-ssm-bench opens=() mounts=() t1 t2
  mkdir -p $bench_dir
  (umask 077 && printf '%s' "$BENCH_KEY" >$key_file)
  for i in 1 2 3; do
    t=$(now_us)
    cryptsetup open --type luks --key-slot 1 --key-file=$key_file "$DATA_DEV" bench || fail "bare cryptsetup open: exit $?"
    t1=$(now_us)
    mount -t ext4 -o noatime,nodev,nosuid /dev/mapper/bench $bench_dir || fail "bare mount: exit $?"
    t2=$(now_us)
    opens+=($((t1 - t))); mounts+=($((t2 - t1)))
    umount $bench_dir && cryptsetup close bench || fail "bare umount/close"
  done
  rm -f $key_file
  systemctl start $UNIT && systemctl start $DEP || fail "systemctl start $UNIT $DEP after the bare open"
  expect_mounted

  local bare_open bare_mount
  bare_open=$(median "${opens[@]}"); bare_mount=$(median "${mounts[@]}")
  awk -v b="$begin" -v a="$active" -v k="$key" -v o="$opened" -v m="$mounted" -v n="$node_us" -v bo="$bare_open" -v bm="$bare_mount" 'BEGIN {
    ms = 1000
    printf "boot_activation_ms=%.0f (process start to key in hand %.0f, cryptsetup open %.0f, mount %.0f, rest %.0f)\n", (a - b) / ms, (k - b) / ms, (o - k) / ms, (m - o) / ms, (a - m) / ms
    printf "boot_bare_open_mount_ms=%.0f (cryptsetup open %.0f, mount %.0f; medians of 3)\n", (bo + bm) / ms, bo / ms, bm / ms
    printf "boot_node_e0_ms=%.0f (median of 5)\n", n / ms
    printf "boot_overhead_vs_node=%.2f\n", ((a - b) - (bo + bm)) / n
  }'
}
