#!/bin/bash
# Guest half of 10-boot-figures: the boot critical path of the boot-time unlock 02-enable-at-boot's reboot did.
. /mnt/host/product.sh

# usec_of TEXT [SINCE]: the monotonic time (µs) of the unit's first journal line this boot (after SINCE, epoch
# seconds) containing TEXT.
usec_of() {
  journalctl -b -u $UNIT -o short-monotonic --no-pager ${2:+--since "@$2"} | grep -m1 -F "$1" | sed -E 's/^\[ *([0-9]+)\.([0-9]{6})\].*/\1\2/'
}

# activation [SINCE]: "activation key-in-hand open mount rest" (µs) of the unit's latest start, split by its own journal
# lines (after SINCE); nothing when a timestamp is missing.
activation() {
  local begin active key opened mounted v
  begin=$(prop $UNIT InactiveExitTimestampMonotonic)
  active=$(prop $UNIT ActiveEnterTimestampMonotonic)
  key=$(usec_of 'fetched ' "$@")
  opened=$(usec_of 'opened ' "$@")
  mounted=$(usec_of 'mounted /dev/mapper/' "$@")
  for v in begin active key opened mounted; do
    [ -n "${!v}" ] && [ "${!v}" -gt 0 ] || { echo "boot figures: no timestamp for $v (journal of $UNIT this boot)" >&2; return 1; }
  done
  echo $((active - begin)) $((key - begin)) $((opened - key)) $((mounted - opened)) $((active - mounted))
}

# split_ms NAME "activation key open mount rest": one figures line, in ms.
split_ms() {
  echo "$2" | awk -v name="$1" '{ printf "%s=%.0f (process start to key in hand %.0f, cryptsetup open %.0f, mount %.0f, rest %.0f)\n", name, $1 / 1000, $2 / 1000, $3 / 1000, $4 / 1000, $5 / 1000 }'
}

# restart_cold: stop the unit and its dependent, drop the page cache, start both again; prints the start's split (µs).
restart_cold() {
  local since
  systemctl stop $DEP $UNIT || fail "systemctl stop $UNIT"
  sync; echo 3 >/proc/sys/vm/drop_caches
  sleep 1; since=$(date +%s)
  systemctl start $UNIT && systemctl start $DEP || fail "systemctl start $UNIT $DEP"
  activation "$since" || fail "no split for the cold restart"
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
# file (key slot 1, same PBKDF as the unit's slot 0). Prints ms figures and boot_overhead_vs_node=N. Then, to tell
# where the boot's time goes, the same unit started again in this boot with a warm and with a dropped page cache.
# `node -e 0` warm is the fair divisor: the generator (luks-ssm generate, early at every boot) has run the same
# runtime, bundle and code cache before the unit starts. Leaves the volume unlocked and mounted again, as found.
boot_figures() {
  local at_boot begin active
  at_boot=$(activation) || fail "no split of the unlock at boot"
  begin=$(prop $UNIT InactiveExitTimestampMonotonic)
  active=$(prop $UNIT ActiveEnterTimestampMonotonic)
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
  for i in 1 2 3 4 5; do
    t=$(now_us)
    cryptsetup open --type luks --key-slot 1 --key-file=$key_file "$DATA_DEV" bench || fail "bare cryptsetup open: exit $?"
    t1=$(now_us)
    mount -t ext4 -o noatime,nodev,nosuid /dev/mapper/bench $bench_dir || fail "bare mount: exit $?"
    t2=$(now_us)
    opens+=($((t1 - t))); mounts+=($((t2 - t1)))
    umount $bench_dir && cryptsetup close bench || fail "bare umount/close"
  done
  rm -f $key_file
  # The unit again, warm: started after the bare opens (page cache holds the runtime and cryptsetup).
  local since warm cold
  sleep 1; since=$(date +%s)
  systemctl start $UNIT && systemctl start $DEP || fail "systemctl start $UNIT $DEP after the bare open"
  expect_mounted
  warm=$(activation "$since") || fail "no split for the warm restart"
  cold=$(restart_cold) || exit 1
  expect_mounted

  local bare_open bare_mount
  bare_open=$(median "${opens[@]}"); bare_mount=$(median "${mounts[@]}")
  split_ms boot_activation_ms "$at_boot"
  # When udev had the disk ready (its by-id name): start waits for it, the bare open below never does.
  local ready
  ready=$(udevadm info --query=property --name="$DATA_DEV" | sed -n 's/^USEC_INITIALIZED=//p')
  [ -n "$ready" ] && echo "boot_device_ready_ms=$(((ready - begin) / 1000)) (udev initialized $DATA_DEV, from the unit's start)"
  awk -v b="$begin" -v a="$active" -v n="$node_us" -v bo="$bare_open" -v bm="$bare_mount" 'BEGIN {
    ms = 1000
    printf "boot_bare_open_mount_ms=%.0f (cryptsetup open %.0f, mount %.0f; medians of 5)\n", (bo + bm) / ms, bo / ms, bm / ms
    printf "boot_node_e0_ms=%.0f (median of 5)\n", n / ms
    printf "boot_overhead_vs_node=%.2f\n", ((a - b) - (bo + bm)) / n
  }'
  # The ratio's own noise: the same formula with the fastest and the slowest of the bare opens + mounts, which
  # differ only by when they ran (under TCG by seconds, several times `node -e 0`).
  local totals=() fastest slowest
  for i in "${!opens[@]}"; do totals+=($((opens[i] + mounts[i]))); done
  fastest=$(printf '%s\n' "${totals[@]}" | sort -n | head -1); slowest=$(printf '%s\n' "${totals[@]}" | sort -n | tail -1)
  awk -v b="$begin" -v a="$active" -v n="$node_us" -v lo="$fastest" -v hi="$slowest" 'BEGIN {
    printf "boot_overhead_vs_node_span=%.2f..%.2f (the same with the slowest and the fastest bare open + mount, %.0f..%.0f ms)\n", ((a - b) - hi) / n, ((a - b) - lo) / n, lo / 1000, hi / 1000
  }'
  split_ms boot_restart_warm_ms "$warm"
  split_ms boot_restart_cold_ms "$cold"
  # Like for like: the warm restart's activation against the warm bare open + mount and the warm `node -e 0`.
  echo "$warm" | awk -v n="$node_us" -v bo="$bare_open" -v bm="$bare_mount" '{ printf "boot_restart_warm_overhead_vs_node=%.2f\n", ($1 - (bo + bm)) / n }'
}
