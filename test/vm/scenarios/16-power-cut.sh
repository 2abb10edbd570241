#!/bin/bash
# Guest half of 16-power-cut: `enroll --add-to-existing` and `rotate` stopped (SIGSTOP) right after a named step, for
# both key sources at once (ssm on the scratch disk, kms on the kms disk); the host then kills QEMU (a power cut)
# and boots again, where each volume must still open and a second run of the verb must complete.
. /mnt/host/product.sh
. /mnt/host/stop-at.sh
STOP_AT_DIR=/run/vm-power-cut
PC_DIR=/var/lib/vm-power-cut
# The passphrase the volumes had before luks-ssm (a person's, in real life): a test key made in the guest, on the
# root disk so it survives the power cut. Not the run's secret (that one never leaves the emulator and the data disk).
EXISTING_KEY=$PC_DIR/existing.key

pc_volumes() {
  echo "pcssm ssm $SCRATCH_SERIAL"
  echo "pckms kms $KMS_SERIAL"
}

pc_dev() {
  echo "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_$1"
}

pc_keyslots() {
  cryptsetup luksDump "$1" | awk '/^Keyslots:/ { k = 1; next } /^[A-Z]/ { k = 0 } k && /^ +[0-9]+: luks2/' | wc -l
}

pc_tokens() {
  cryptsetup luksDump "$1" | awk '/^Tokens:/ { t = 1; next } /^[A-Z]/ { t = 0 } t && /^ +[0-9]+: /' | wc -l
}

# pc_config VOLUME SOURCE SERIAL TAG: the volume's config; an ssm volume gets a parameter of its own per TAG, so every
# enroll starts with nothing stored.
pc_config() {
  local key_lines
  case $2 in
    ssm) key_lines="SSM_PATH=/luks/vm/$1-$4" ;;
    kms) key_lines=$(printf '%s\n' KEY_SOURCE=kms KMS_KEY_ID=alias/luks-ssm-vm) ;;
  esac
  volume_config "$1" "$3" "VM power-cut volume ($2): LUKS with a passphrase from before luks-ssm, then enrolled and rotated." \
    "$(printf '%s\n' "$key_lines" LUKS_PBKDF=pbkdf2 LUKS_PBKDF_FORCE_ITERATIONS=1000)"
}

# pc_fresh_volumes TAG: each disk becomes a LUKS volume that only the existing key opens, holding a marker file.
pc_fresh_volumes() {
  local volume source serial dev
  install -d -m 0700 $PC_DIR
  [ -s $EXISTING_KEY ] || head -c 32 /dev/urandom | base64 -w0 >$EXISTING_KEY
  while read -r volume source serial; do
    dev=$(pc_dev "$serial")
    wait_for 20 test -b "$dev" || fail "no $dev"
    systemctl disable --now luks-ssm@$volume.service >/dev/null 2>&1
    umount /srv/$volume 2>/dev/null
    cryptsetup close $volume 2>/dev/null
    dd if=/dev/zero of="$dev" bs=1M count=32 conv=fsync status=none || fail "zeroing $dev"
    cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file $EXISTING_KEY "$dev" ||
      fail "luksFormat $dev"
    cryptsetup open --key-file $EXISTING_KEY "$dev" $volume || fail "open $dev with the existing key"
    install -d -m 0755 /srv/$volume
    mkfs.ext4 -q /dev/mapper/$volume || fail "mkfs in $volume"
    mount /dev/mapper/$volume /srv/$volume && echo "written before enroll" >/srv/$volume/marker && sync && umount /srv/$volume ||
      fail "marker in $volume"
    cryptsetup close $volume || fail "close $volume"
    pc_config $volume $source $serial "$1"
  done < <(pc_volumes)
  sync # the set-up is not under test: only the verb meets the power cut
  echo "fresh volumes: only the existing key opens them ($1)"
}

# pc_verb_args VERB: the arguments after the volume.
pc_verb_args() {
  case $1 in
    enroll) echo "--add-to-existing --existing-key-file $EXISTING_KEY" ;;
    rotate) ;;
  esac
}

# pc_cut VERB STEP: runs VERB on both volumes, each stopped right after STEP's line; prints what each got to. A run
# whose STEP never comes finishes (reported as such). Each run has its own run lock (LUKS_SSM_RUN_DIR): the stopped
# one keeps its lock, and the two must not wait on each other.
pc_cut() {
  local verb=$1 step=$2 volume source serial pid
  declare -A pids
  while read -r volume source serial; do
    # shellcheck disable=SC2046
    LUKS_SSM_RUN_DIR=/run/vm-power-cut-$volume stop_at $volume "\"step\":\"$step\"" luks-ssm $verb $volume --verbose $(pc_verb_args $verb)
    pids[$volume]=$STOP_AT_PID
  done < <(pc_volumes)
  while read -r volume source serial; do
    pid=${pids[$volume]}
    wait_for 300 is_settled $pid || fail "$volume: luks-ssm $verb neither stopped nor finished in 300 s"
    if [ "$(run_state $pid)" = T ]; then
      echo "cut verb=$verb step=$step volume=$volume source=$source stopped=yes keyslots=$(pc_keyslots "$(pc_dev $serial)") tokens=$(pc_tokens "$(pc_dev $serial)")"
    else
      wait $pid 2>/dev/null
      echo "cut verb=$verb step=$step volume=$volume source=$source stopped=no exit=$? keyslots=$(pc_keyslots "$(pc_dev $serial)")"
      sed 's/^/  /' $STOP_AT_DIR/$volume.log
    fi
  done < <(pc_volumes)
}

# pc_opens VOLUME SOURCE SERIAL VERB: how the volume opens in the boot after the cut. After rotate: its unit (enabled,
# so started at boot) must be active with the volume mounted and the marker intact. After enroll (not enabled yet):
# the existing key must still open it.
pc_opens() {
  local volume=$1 dev
  dev=$(pc_dev "$3")
  if [ "$4" = rotate ]; then
    wait_for 150 unit_is luks-ssm@$volume.service active || {
      echo "boot=no($(prop luks-ssm@$volume.service ActiveState))"
      return
    }
    [ "$(cat /srv/$volume/marker 2>/dev/null)" = "written before rotate" ] || {
      echo "boot=marker-lost"
      return
    }
    echo "boot=yes"
  else
    cryptsetup open --test-passphrase --key-file $EXISTING_KEY "$dev" && echo existing=yes || echo existing=no
  fi
}

# pc_after_cut VERB STEP: the boot after the power cut. Prints one line a volume (the host builds the table from
# them) and fails if a volume did not open, or the verb's second run did not complete.
pc_after_cut() {
  wait_booted 150 || echo "boot not finished: $(systemctl is-system-running)"
  local verb=$1 step=$2 volume source serial opened rerun slots after problems=""
  while read -r volume source serial; do
    opened=$(pc_opens $volume $source $serial $verb)
    # shellcheck disable=SC2046
    luks-ssm $verb $volume $(pc_verb_args $verb) >$PC_DIR/rerun-$volume.log 2>&1
    rerun=$?
    slots=$(pc_keyslots "$(pc_dev $serial)")
    # The finished volume opens with luks-ssm's key, and its data is intact.
    if [ $rerun -eq 0 ] && systemctl restart luks-ssm@$volume.service && [ "$(cat /srv/$volume/marker 2>/dev/null)" = "written before $verb" ]; then
      after=yes
    else
      after=no
    fi
    echo "after verb=$verb step=$step volume=$volume source=$source $opened rerun_exit=$rerun keyslots=$slots opens_after=$after"
    sed 's/^/  /' $PC_DIR/rerun-$volume.log
    case "$opened $rerun $after" in *=no* | *marker-lost* | *" no") problems+=" $volume" ;; esac
    [ $rerun -eq 0 ] || problems+=" $volume(rerun)"
  done < <(pc_volumes)
  [ -z "$problems" ] || fail "after the power cut in $verb at $step:$problems"
}

# pc_ready_for_rotate: the enrolled volumes enabled (so the boot after each cut starts them), marker for rotate.
pc_ready_for_rotate() {
  local volume source serial
  while read -r volume source serial; do
    luks-ssm enable $volume || fail "luks-ssm enable $volume: exit $?"
    systemctl start luks-ssm@$volume.service || fail "systemctl start luks-ssm@$volume.service: exit $?"
    echo "written before rotate" >/srv/$volume/marker && sync
    echo "$volume ready for rotate: $(luks-ssm status $volume | head -n 1)"
  done < <(pc_volumes)
  sync
}

# pc_stop_volumes: both volumes stopped (after enroll's cut-boot: the next cut starts from fresh volumes).
pc_stop_volumes() {
  local volume source serial
  while read -r volume source serial; do
    systemctl stop luks-ssm@$volume.service
  done < <(pc_volumes)
}
