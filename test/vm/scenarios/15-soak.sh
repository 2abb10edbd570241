#!/bin/bash
# Guest half of 15-soak: start/stop cycles of the soak volume (its own disk, SOAK_SERIAL, key slot PBKDF2-SHA512 with
# 1000 iterations as enroll gives a generated key; passphrase at SOAK_PATH in the emulator) with a writer that needs
# it. Per cycle: every file the writer ever finished is still there with its checksum, nothing is left open after the
# stop, and the start's memory peak (cgroup v2 memory.peak of luks-ssm@soak.service, read by an ExecStartPost=: the
# start process and its children). The data volume the other scenarios use is left as it was.
. /mnt/host/product.sh

# The soak volume (product.sh's helpers read these names).
VOLUME=soak
MAP=soak
MOUNT_POINT=/srv/soak
UNIT=luks-ssm@soak.service
MOUNT_UNIT=srv-soak.mount
DATA_DEV=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_$SOAK_SERIAL
DATA_UNIT=luks-ssm@data.service

WRITER=vm-soak-writer.service
SOAK_DIR=$MOUNT_POINT/soak
# The witness: one "sha256  name" line per finished file, on the root disk (it outlives the volume's mount).
WITNESS=/var/lib/vm-soak/witness
MEMORY_DROPIN=/etc/systemd/system/$UNIT.d/90-vm-soak-memory.conf

# crypt_maps: the dm-crypt mappings open now, one name a line.
crypt_maps() {
  dmsetup ls --target crypt 2>/dev/null | awk '$1 != "No" {print $1}' | sort
}

# run_entries: what /run/luks-ssm holds besides the run locks (lock, lock.volume.*, lock.map.*, lock.mount.*: files
# that stay by design, src/volume/run-lock.ts; flock drops the lock itself with the process).
run_entries() {
  ls -A /run/luks-ssm 2>/dev/null | grep -vE '^lock($|\.)' | tr '\n' ' '
}

# soak_slot: the soak volume's key slots, "PBKDF hash iterations" a line.
soak_slot() {
  cryptsetup luksDump $DATA_DEV | awk '/^Keyslots:/ { k = 1; next } /^[A-Z]/ { k = 0 }
    k && /^\tPBKDF:/ { t = $2 } k && /^\tHash:/ { h = $2 } k && /^\tIterations:/ { print t, h, $2 }'
}

# data_volume_state: the data volume's unit state and what is mounted at its mount point (the soak must not change them).
data_volume_state() {
  echo "$(prop $DATA_UNIT ActiveState) $(findmnt -n -o SOURCE /srv/data)"
}

soak_setup() {
  wait_for 20 test -b $DATA_DEV || fail "no $DATA_DEV: $(ls /dev/disk/by-id)"
  [ "$(soak_slot)" = "pbkdf2 sha512 1000" ] || fail "$DATA_DEV: key slot is '$(soak_slot)', expected 'pbkdf2 sha512 1000' (what enroll gives a generated key)"
  # The writer is the volume's dependent through REQUIRED_BY= (the generator's drop-ins order it after the volume and
  # make it need it), so the soak also runs start's and stop's dependent handling every cycle.
  volume_config $VOLUME $SOAK_SERIAL "VM soak volume on the NVMe disk $SOAK_SERIAL; not enabled at boot." "LUKS_DEVICE_MOUNT_OPT=noatime,nodev,nosuid
SSM_PATH=$SOAK_PATH
REQUIRED_BY=$WRITER"
  install -d -m 0700 /var/lib/vm-soak
  : >$WITNESS
  # The writer: 4 KiB files from /dev/urandom (at most 20 a start, 0.1 s apart), each written under a temporary
  # name and renamed, then its checksum goes to the witness. SIGTERM ends the loop only between files (bash runs
  # the trap once the command in hand is done), so every witness line is a write the writer saw finish.
  cat >/var/lib/vm-soak/writer.sh <<SCRIPT
stop=
trap 'stop=1' TERM
mkdir -p $SOAK_DIR
c=\$(cat /run/vm-soak-cycle)
i=0
while [ -z "\$stop" ]; do
  if [ \$i -lt 20 ]; then
    i=\$((i + 1))
    f=c\$c-\$i
    head -c 4096 /dev/urandom >$SOAK_DIR/\$f.tmp && mv $SOAK_DIR/\$f.tmp $SOAK_DIR/\$f &&
      (cd $SOAK_DIR && sha256sum \$f) >>$WITNESS
  fi
  sleep 0.1
done
SCRIPT
  cat >/etc/systemd/system/$WRITER <<UNIT
[Unit]
Description=VM soak writer: checksummed files in the encrypted volume
RequiresMountsFor=$MOUNT_POINT

[Service]
ExecStart=/bin/bash /var/lib/vm-soak/writer.sh
# SIGTERM to bash alone (not to the head or mv in hand), so the loop ends between files.
KillMode=mixed
UNIT
  # The start's memory peak: systemd removes an exited oneshot's empty cgroup, so it is read from inside, by a
  # command that runs in the same cgroup once luks-ssm start has exited (its peak stays the cgroup's).
  cat >/var/lib/vm-soak/peak.sh <<'SCRIPT'
cg=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)
echo "$(cat "$cg/memory.peak") $(stat -c %i "$cg")" >/run/vm-soak-peak
SCRIPT
  mkdir -p "$(dirname $MEMORY_DROPIN)"
  printf '[Service]\nMemoryAccounting=yes\nExecStartPost=/bin/sh /var/lib/vm-soak/peak.sh\n' >$MEMORY_DROPIN
  systemctl daemon-reload
  expect_closed
  crypt_maps >/var/lib/vm-soak/maps-baseline
  run_entries >/var/lib/vm-soak/run-baseline
  data_volume_state >/var/lib/vm-soak/data-state
  echo "soak guest debian=$(cat /etc/debian_version) kernel=$(uname -r) systemd=$(systemctl --version | awk 'NR == 1 {print $2}') luks_ssm=$(luks-ssm --version | awk 'NR == 1 {print $NF}')"
  echo "baseline: crypt mappings [$(tr '\n' ' ' </var/lib/vm-soak/maps-baseline)], /run/luks-ssm entries besides the lock [$(cat /var/lib/vm-soak/run-baseline)], data volume [$(cat /var/lib/vm-soak/data-state)]"
}

written() {
  wc -l <$WITNESS
}

# written_this_cycle N: the writer finished at least N files this cycle (for wait_for).
written_this_cycle() {
  [ "$(grep -c " c$CYCLE-" $WITNESS)" -ge "$1" ]
}

# verify_witness: how many witness lines sha256sum -c finds FAILED (a file missing, unreadable or with another checksum).
verify_witness() {
  if [ ! -d $SOAK_DIR ]; then
    written
    return
  fi
  (cd $SOAK_DIR && sha256sum -c --quiet $WITNESS 2>&1) | grep -c ': FAILED'
}

# soak_cycle N: start the volume, check every earlier write, start the writer and let it finish 3 files, stop the
# volume (which stops the writer first), look for leaks. Every wait is bounded; none is a fixed sleep.
soak_cycle() {
  CYCLE=$1
  echo "$CYCLE" >/run/vm-soak-cycle
  rm -f /run/vm-soak-peak
  local t0 t1 t2 t3 t4 t5 before bad peak ino leaked maps runs procs
  before=$(written)
  t0=$(date +%s%N)
  systemctl start $UNIT || fail "cycle $CYCLE: systemctl start $UNIT: exit $?"
  t1=$(date +%s%N)
  expect_mounted
  read -r peak ino </run/vm-soak-peak || fail "cycle $CYCLE: $UNIT's ExecStartPost left no memory.peak in /run/vm-soak-peak"
  [ -n "$peak" ] && [ -n "$ino" ] || fail "cycle $CYCLE: no memory.peak of $UNIT's cgroup (cgroup v2 memory accounting)"
  bad=0
  [ "$before" -eq 0 ] || bad=$(verify_witness)
  t2=$(date +%s%N)
  systemctl start $WRITER || fail "cycle $CYCLE: systemctl start $WRITER: exit $?"
  wait_for 60 written_this_cycle 3 || fail "cycle $CYCLE: $WRITER finished fewer than 3 files in 60 s"
  t3=$(date +%s%N)
  systemctl stop $UNIT || fail "cycle $CYCLE: systemctl stop $UNIT: exit $?"
  t4=$(date +%s%N)
  unit_is $WRITER inactive || fail "cycle $CYCLE: $WRITER is $(prop $WRITER ActiveState) after the volume stopped"
  leaked=0
  is_mounted && leaked=$((leaked + 1))
  maps=$(crypt_maps)
  [ "$maps" = "$(</var/lib/vm-soak/maps-baseline)" ] || leaked=$((leaked + 1))
  maps=$(echo $maps)
  runs=$(run_entries)
  [ "$runs" = "$(</var/lib/vm-soak/run-baseline)" ] || leaked=$((leaked + 1))
  procs=$(pgrep -c -f '/usr/lib/luks-ssm/luks-ssm.cjs')
  [ "$procs" -eq 0 ] || leaked=$((leaked + 1))
  t5=$(date +%s%N)
  echo "soak cycle=$CYCLE start_ms=$(((t1 - t0) / 1000000)) check_ms=$(((t2 - t1) / 1000000)) write_ms=$(((t3 - t2) / 1000000)) stop_ms=$(((t4 - t3) / 1000000)) leak_check_ms=$(((t5 - t4) / 1000000)) cycle_ms=$(((t5 - t0) / 1000000)) peak_bytes=$peak cgroup_inode=$ino checked=$before bad=$bad written=$(($(written) - before)) leaked=$leaked crypt_maps=[$maps] run_entries=[${runs% }] luks_ssm_processes=$procs"
}

# soak_cycles FIRST LAST: one step's share of the cycles (a step is bounded; the host runs several).
soak_cycles() {
  local n
  for ((n = $1; n <= $2; n++)); do soak_cycle "$n"; done
}

# soak_finish: a last check of every write, then the soak volume is closed and its config, files and units go; the
# data volume must be as the soak found it.
soak_finish() {
  local since
  since=$(date +%s)
  systemctl start $UNIT || fail "systemctl start $UNIT after the soak: exit $?"
  echo "soak final checked=$(written) bad=$(verify_witness)"
  systemctl stop $UNIT || fail "systemctl stop $UNIT after the soak: exit $?"
  # Where a start's and a stop's time go (for the cost notes in test/vm/README.md): their journal, monotonic time.
  journalctl -b --no-pager -o short-monotonic --since "@$since" -u $UNIT -u $MOUNT_UNIT | sed 's/^/journal: /'
  expect_closed
  expect_eq "data volume (state, mounted source) after the soak" "$(data_volume_state)" "$(</var/lib/vm-soak/data-state)"
  rm -rf /var/lib/vm-soak /run/vm-soak-cycle /run/vm-soak-peak /etc/systemd/system/$WRITER $MEMORY_DROPIN /etc/luks-ssm/$VOLUME.conf
  rmdir $MOUNT_POINT "$(dirname $MEMORY_DROPIN)" 2>/dev/null
  systemctl daemon-reload
}
