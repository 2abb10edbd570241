#!/bin/bash
# Guest half of 00-smoke: the harness works without the product (network fence, 9p, NVMe names, LUKS in the guest).

# has_address: networkd has put the static address on eth0 (and with it the 10.0.2.0/24 route).
has_address() {
  ip -4 -o addr show dev eth0 | grep -q ' 10\.0\.2\.15/'
}

smoke() {
  wait_booted 120 || fail "system not up: $(systemctl is-system-running); failed units: $(systemctl --failed --no-legend)"
  # Nothing orders the boot after network-online.target before the product is installed: on Debian 13 the
  # boot can finish before networkd has configured eth0, so wait for the address before probing the network.
  wait_for 30 has_address || fail "eth0 has no 10.0.2.15 after 30 s: $(ip -br addr)"
  mountpoint -q /mnt/host || fail "9p share not mounted at /mnt/host"
  show routes ip route
  ip route | grep -q '^default' && fail "a default route exists: $(ip route | grep '^default')"

  tcp_open 10.0.2.2 "$EMU_PORT" || fail "no TCP connection to 10.0.2.2:$EMU_PORT (host loopback)"
  if [ "$EMU_KIND" = emulator ]; then
    exec 3<>/dev/tcp/10.0.2.2/"$EMU_PORT" || fail "connect to emulator"
    printf 'PUT /latest/api/token HTTP/1.1\r\nHost: 10.0.2.2\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\nConnection: close\r\n\r\n' >&3
    status=$(timeout 5 head -n1 <&3)
    exec 3<&-
    echo "IMDS token via 10.0.2.2: $status"
    case $status in *" 200"*) ;; *) fail "IMDSv2 token request through 10.0.2.2 answered: $status" ;; esac
  fi

  # No route beyond 10.0.2.0/24: the metadata address and any AWS address must fail at once, not time out.
  for addr in 169.254.169.254 52.94.0.1; do
    # Timed inside one bash: "at once" means the connect itself, not a loaded host's process start-up.
    err=$(timeout 5 bash -c "t0=\$EPOCHREALTIME; exec 3<>/dev/tcp/$addr/80 || echo \"elapsed \$t0 \$EPOCHREALTIME\"" 2>&1) ||
      fail "$addr: no answer within 5 s (rc $?): $err"
    case $err in *"Network is unreachable"*) ;; *) fail "$addr: expected ENETUNREACH, got: $err" ;; esac
    ms=$(echo "$err" | awk '/^elapsed/ { printf "%d", ($3 - $2) * 1000 }')
    echo "$addr: Network is unreachable after ${ms} ms"
    [ -n "$ms" ] && [ "$ms" -lt 500 ] || fail "$addr: took ${ms:-?} ms to fail"
  done

  by_id=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_$SCRATCH_SERIAL
  wait_for 20 test -b "$by_id" || fail "no $by_id: $(ls /dev/disk/by-id)"
  test -b "$DATA_DEV" || fail "no $DATA_DEV"
  key=$(mktemp /run/smoke-key.XXXXXX)
  head -c 32 /dev/urandom >"$key"
  cryptsetup luksFormat --type luks2 --pbkdf pbkdf2 --iter-time 100 --batch-mode --key-file "$key" "$by_id" || fail "luksFormat"
  cryptsetup open --key-file "$key" "$by_id" smoke || fail "cryptsetup open"
  rm -f "$key"
  mkfs.ext4 -q /dev/mapper/smoke || fail "mkfs.ext4"
  mkdir -p /mnt/smoke && mount /dev/mapper/smoke /mnt/smoke || fail "mount"
  echo hello >/mnt/smoke/hello && sync
  show mount findmnt -n -o SOURCE,FSTYPE /mnt/smoke
  # Negative control for 06-clean-reboot: a filesystem shut down without flushing its journal (as a crash
  # leaves it) must show journal recovery in the kernel log when mounted again.
  local dm
  dm=$(basename "$(readlink -f /dev/mapper/smoke)")
  echo dirty >/mnt/smoke/dirty
  xfs_io -x -c 'shutdown' /mnt/smoke || fail "xfs_io shutdown of /mnt/smoke"
  umount /mnt/smoke && mount /dev/mapper/smoke /mnt/smoke || fail "remount after the shutdown"
  echo "== kernel on $dm"
  dmesg | grep "($dm)"
  dmesg | grep "($dm)" | grep -qi recover || fail "no journal recovery logged for $dm after an unclean shutdown"
  umount /mnt/smoke && cryptsetup close smoke || fail "umount/close"
  test -e /dev/mapper/smoke && fail "mapping still present after close"
  echo "smoke ok"
}
