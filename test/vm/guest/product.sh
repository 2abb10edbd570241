#!/bin/bash
# Guest helpers for the product scenarios: the volume's config, the dependent test unit, unit and mount facts.
VOLUME=data
MAP=data
MOUNT_POINT=/srv/data
UNIT=luks-ssm@data.service
MOUNT_UNIT=srv-data.mount
DEP=vm-dependent.service
TIMEOUT_SEC=${TIMEOUT_SEC:-90}

# emulator_forwarder: the host's emulator (10.0.2.2:$EMU_PORT) on guest loopback, 127.0.0.1:$EMU_PORT, through
# systemd-socket-proxyd: luks-ssm accepts plain http:// only to loopback (src/aws/endpoint-url.ts). A socket unit
# enabled in sockets.target, so it listens from early boot on, before luks-ssm@ starts. The proxy itself is started
# at boot before network-online.target (luks-ssm@ is After= it), not by luks-ssm's first connection: on EC2 the path
# to instance metadata and AWS needs no process started, so its start must not land inside the unlock that
# 10-boot-figures measures. Idempotent.
emulator_forwarder() {
  [ -f /etc/systemd/system/vm-emulator.socket ] && return 0
  cat >/etc/systemd/system/vm-emulator.socket <<UNIT
[Unit]
Description=VM test: the host's AWS emulator on guest loopback

[Socket]
ListenStream=127.0.0.1:$EMU_PORT

[Install]
WantedBy=sockets.target
UNIT
  cat >/etc/systemd/system/vm-emulator.service <<UNIT
[Unit]
Description=VM test: forwards 127.0.0.1:$EMU_PORT to the host's emulator at 10.0.2.2:$EMU_PORT
Requires=vm-emulator.socket
After=vm-emulator.socket
Before=network-online.target

[Service]
ExecStart=/lib/systemd/systemd-socket-proxyd 10.0.2.2:$EMU_PORT

[Install]
WantedBy=network-online.target
UNIT
  systemctl daemon-reload && systemctl enable --now vm-emulator.socket vm-emulator.service >/dev/null 2>&1 ||
    fail "vm-emulator.socket (loopback forwarder to the emulator) did not start"
}

# emulator_config_lines: the config lines every guest volume shares: region, every AWS endpoint on the host's
# emulator (reached through the loopback forwarder above), and the timeouts.
emulator_config_lines() {
  emulator_forwarder
  cat <<LINES
SSM_REGION=$REGION
SSM_ENDPOINT=http://127.0.0.1:$EMU_PORT
KMS_ENDPOINT=http://127.0.0.1:$EMU_PORT
IMDS_ENDPOINT=http://127.0.0.1:$EMU_PORT
TIMEOUT_SEC=$TIMEOUT_SEC
DEVICE_TIMEOUT_SEC=10
LINES
}

# write_config: /etc/luks-ssm/data.conf with every AWS endpoint on the host's emulator (via loopback). TIMEOUT_SEC is
# generous by default: under TCG on a loaded host one unlock (Node start, IMDS, SSM, pbkdf2) can take 20-40 s.
write_config() {
  emulator_forwarder
  install -d -m 0755 /etc/luks-ssm
  (umask 077 && cat >/etc/luks-ssm/$VOLUME.conf) <<CONF
# VM test volume: the NVMe disk with the EBS-style serial, passphrase in the host's emulator.
LUKS_DEVICE=$VOLUME_ID
LUKS_DEVICE_MAP=$MAP
LUKS_DEVICE_FS=ext4
LUKS_DEVICE_MOUNT_OPT=noatime,nodev,nosuid
LUKS_DEVICE_MOUNT_POINT=$MOUNT_POINT
SSM_PATH=$SSM_PATH
$(emulator_config_lines)
REQUIRED_BY=$DEP
CONF
}

# volume_config VOLUME SERIAL COMMENT LINES: /etc/luks-ssm/VOLUME.conf for the NVMe disk with the EBS serial SERIAL
# (found by its volume id), mapped as VOLUME, ext4 on /srv/VOLUME; LINES (the key source's, any other) and the
# emulator's lines; COMMENT heads the file.
volume_config() {
  install -d -m 0755 /etc/luks-ssm /srv/$1
  (umask 077 && cat >/etc/luks-ssm/$1.conf) <<CONF
# $3
LUKS_DEVICE=vol-${2#vol}
LUKS_DEVICE_MAP=$1
LUKS_DEVICE_FS=ext4
LUKS_DEVICE_MOUNT_POINT=/srv/$1
$4
$(emulator_config_lines)
CONF
}

# recovery_key_to FILE TIMEOUT: with AWS up and the data volume's config at TIMEOUT_SEC=TIMEOUT, a recovery key
# written by `recovery-key --output FILE`, which must come out mode 0600.
recovery_key_to() {
  TIMEOUT_SEC=$2 write_config
  systemctl daemon-reload
  rm -f "$1"
  luks-ssm recovery-key $VOLUME --output "$1" || fail "luks-ssm recovery-key $VOLUME --output $1: exit $?"
  expect_eq "mode of $1" "$(stat -c %a "$1")" 600
}

# write_dependent: a service that needs the volume and leaves a file in it for every start.
write_dependent() {
  cat >/etc/systemd/system/$DEP <<'UNIT'
[Unit]
Description=VM test dependent: writes into the encrypted volume

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'echo "$(cat /proc/sys/kernel/random/boot_id) $(cut -d" " -f1 /proc/uptime)" >>/srv/data/dependent.log'

[Install]
WantedBy=multi-user.target
UNIT
}

prop() {
  systemctl show -p "$2" --value "$1"
}

# unit_is UNIT STATE: for wait_for (reads the state on every try).
unit_is() {
  [ "$(prop "$1" ActiveState)" = "$2" ]
}

# expect_eq WHAT ACTUAL EXPECTED
expect_eq() {
  [ "$2" = "$3" ] || fail "$1: expected '$3', got '$2'"
}

is_mounted() {
  findmnt -n "$MOUNT_POINT" >/dev/null
}

is_open() {
  [ -e /dev/mapper/$MAP ]
}

# expect_closed: not mounted, mapping gone, and the root disk's mount point directory is empty.
expect_closed() {
  is_mounted && fail "$MOUNT_POINT still mounted: $(findmnt -n $MOUNT_POINT)"
  is_open && fail "/dev/mapper/$MAP still open"
  [ -z "$(ls -A $MOUNT_POINT 2>/dev/null)" ] || fail "root disk's $MOUNT_POINT not empty: $(ls -A $MOUNT_POINT)"
}

# expect_mounted: the LUKS mapping on the NVMe disk, mounted with the configured options.
expect_mounted() {
  is_open || fail "/dev/mapper/$MAP not open"
  local backing src fstype opts
  backing=$(cryptsetup status $MAP | awk '$1 == "device:" {print $2}')
  expect_eq "backing device of $MAP" "$(readlink -f "$backing")" "$(readlink -f "$DATA_DEV")"
  read -r src fstype opts < <(findmnt -n -o SOURCE,FSTYPE,OPTIONS "$MOUNT_POINT")
  expect_eq "source of $MOUNT_POINT" "$src" /dev/mapper/$MAP
  expect_eq "fs type of $MOUNT_POINT" "$fstype" ext4
  for opt in noatime nodev nosuid; do
    case ",$opts," in *",$opt,"*) ;; *) fail "$MOUNT_POINT mounted without $opt: $opts" ;; esac
  done
}

# event_time SINCE PATTERN: seconds since boot of the first journal line after SINCE (epoch s) matching PATTERN.
# Unit timestamps can't be used after a stop: systemd unloads an inactive unit and forgets them.
event_time() {
  journalctl -b --no-pager -o short-monotonic --since "@$1" | grep -m1 -E -- "$2" | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p'
}

# not_after A B: true when time A is not later than time B (both non-empty).
not_after() {
  [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'
}

# journal_of UNIT: this boot's journal lines for UNIT, without metadata.
journal_of() {
  journalctl -b --no-pager -o cat -u "$1"
}
