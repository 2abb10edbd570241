#!/bin/bash
# Guest half of 15-soak: start/stop cycles of the data volume with a writer that needs it. Per cycle: every file
# the writer ever finished is still there with its checksum, nothing is left open after the stop, and the start's
# memory peak (cgroup v2 memory.peak of luks-ssm@data.service, read by an ExecStartPost=: the start process and its children).
. /mnt/host/product.sh

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

soak_setup() {
  [ -f /etc/luks-ssm/$VOLUME.conf ] || { mkdir -p $MOUNT_POINT && write_config && write_dependent; }
  install -d -m 0700 /var/lib/vm-soak
  : >$WITNESS
  # The writer: a file of 4 KiB from /dev/urandom every 0.3 s (at most 20 a start), written under a temporary
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
  sleep 0.3
done
SCRIPT
  cat >/etc/systemd/system/$WRITER <<UNIT
[Unit]
Description=VM soak writer: checksummed files in the encrypted volume
Requires=$UNIT
After=$UNIT
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
  systemctl stop $DEP $UNIT || fail "systemctl stop $UNIT before the soak: exit $?"
  expect_closed
  crypt_maps >/var/lib/vm-soak/maps-baseline
  run_entries >/var/lib/vm-soak/run-baseline
  echo "soak guest debian=$(cat /etc/debian_version) kernel=$(uname -r) systemd=$(systemctl --version | awk 'NR == 1 {print $2}') luks_ssm=$(luks-ssm --version | awk 'NR == 1 {print $NF}')"
  echo "baseline: crypt mappings [$(tr '\n' ' ' </var/lib/vm-soak/maps-baseline)], /run/luks-ssm entries besides the lock [$(cat /var/lib/vm-soak/run-baseline)]"
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

# soak_cycle N: start (the writer pulls the volume in), check every earlier write, let it write, stop, look for leaks.
soak_cycle() {
  CYCLE=$1
  echo "$CYCLE" >/run/vm-soak-cycle
  rm -f /run/vm-soak-peak
  local t0 t1 before bad cg peak ino leaked maps runs procs
  before=$(written)
  t0=$(date +%s%N)
  systemctl start $UNIT || fail "cycle $CYCLE: systemctl start $UNIT: exit $?"
  t1=$(date +%s%N)
  expect_mounted
  read -r peak ino </run/vm-soak-peak || fail "cycle $CYCLE: $UNIT's ExecStartPost left no memory.peak in /run/vm-soak-peak"
  [ -n "$peak" ] && [ -n "$ino" ] || fail "cycle $CYCLE: no memory.peak of $UNIT's cgroup (cgroup v2 memory accounting)"
  bad=0
  [ "$before" -eq 0 ] || bad=$(verify_witness)
  systemctl start $WRITER || fail "cycle $CYCLE: systemctl start $WRITER: exit $?"
  wait_for 60 written_this_cycle 3 || fail "cycle $CYCLE: $WRITER finished fewer than 3 files in 60 s"
  systemctl stop $UNIT || fail "cycle $CYCLE: systemctl stop $UNIT: exit $?"
  unit_is $WRITER inactive || fail "cycle $CYCLE: $WRITER is $(prop $WRITER ActiveState) after the volume stopped"
  leaked=0
  is_mounted && leaked=$((leaked + 1))
  maps=$(crypt_maps | tr '\n' ' ')
  [ "$(crypt_maps)" = "$(cat /var/lib/vm-soak/maps-baseline)" ] || leaked=$((leaked + 1))
  runs=$(run_entries)
  [ "$runs" = "$(cat /var/lib/vm-soak/run-baseline)" ] || leaked=$((leaked + 1))
  procs=$(pgrep -c -f '/usr/lib/luks-ssm/luks-ssm.cjs')
  [ "$procs" -eq 0 ] || leaked=$((leaked + 1))
  echo "soak cycle=$CYCLE start_ms=$(((t1 - t0) / 1000000)) peak_bytes=$peak cgroup_inode=$ino checked=$before bad=$bad written=$(($(written) - before)) leaked=$leaked crypt_maps=[${maps% }] run_entries=[${runs% }] luks_ssm_processes=$procs"
}

# soak_cycles FIRST LAST: one step's share of the cycles (a step is bounded; the host runs several).
soak_cycles() {
  local n
  for ((n = $1; n <= $2; n++)); do soak_cycle "$n"; done
}

# soak_finish: a last check of every write, then the soak's files and units go and the volume is as 03 left it.
soak_finish() {
  systemctl start $UNIT || fail "systemctl start $UNIT after the soak: exit $?"
  echo "soak final checked=$(written) bad=$(verify_witness)"
  rm -rf $SOAK_DIR /var/lib/vm-soak /run/vm-soak-cycle /run/vm-soak-peak /etc/systemd/system/$WRITER $MEMORY_DROPIN
  systemctl daemon-reload
  systemctl start $DEP || fail "systemctl start $DEP"
}
