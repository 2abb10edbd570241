#!/bin/bash
# Guest half of 11-recovery-at-terminal (#12 5b): with AWS down, a person runs `systemctl start` at a terminal
# (a pseudo-terminal from util-linux `script`, as in an SSH session), systemctl's own password agent puts the
# question there, the recovery key is typed, and the volume mounts; the key is in neither journal nor disk.
. /mnt/host/product.sh
# On tmpfs: the key must not reach the guest's disk (07-secret-absent flattens it later).
RK=/run/vm-recovery-key.txt
TTY_IN=/run/vm-tty-in
TYPESCRIPT=/run/vm-terminal.typescript
TTY_RC=/run/vm-terminal.rc
# Room for Node's start, the first failed AWS attempt, the question and the typing under TCG on a loaded host.
ASK_TIMEOUT_SEC=150

# enroll_recovery (AWS up): a recovery key into a 0600 file, then the volume and its dependent stopped.
enroll_recovery() {
  recovery_key_to $RK $ASK_TIMEOUT_SEC
  systemctl stop $DEP $UNIT
  expect_closed
}

ask_file() {
  grep -l "^Id=luks-ssm:$VOLUME$" /run/systemd/ask-password/ask.* 2>/dev/null | head -n 1
}
have_question() {
  [ -n "$(ask_file)" ]
}
# The agent prints the question's Message= on the terminal, then turns echo off and reads.
prompt_shown() {
  grep -aq "Recovery key or passphrase for $VOLUME" $TYPESCRIPT
}
terminal_done() {
  [ -s $TTY_RC ]
}

# key_seen_in FILE...: true when the recovery key, as written or without its dashes, is in one of the files.
key_seen_in() {
  local dashed bare
  dashed=$(head -n 1 $RK)
  bare=${dashed//-/}
  grep -aqF -e "$dashed" -e "$bare" "$@" 2>/dev/null
}

# terminal_start (AWS down): `systemctl start` in a pseudo-terminal; the key typed once the question is on it.
terminal_start() {
  rm -f $TTY_IN $TYPESCRIPT $TTY_RC
  mkfifo -m 0600 $TTY_IN
  # script's stdin (the FIFO) is what the person types; it stays open until systemctl is done (an EOF would
  # reach the terminal as ^D).
  ( script -qfec "systemctl start $UNIT" $TYPESCRIPT <$TTY_IN; echo $? >$TTY_RC ) >/dev/null 2>&1 &
  trap 'kill $! 2>/dev/null' EXIT
  exec 3>$TTY_IN
  local started=$SECONDS
  wait_for 120 have_question || fail "no password question for $VOLUME (/run/systemd/ask-password: $(ls /run/systemd/ask-password/))"
  wait_for 30 prompt_shown || fail "the question was not shown on systemctl's terminal: $(cat -v $TYPESCRIPT | tail -c 400)"
  echo "question on the terminal $((SECONDS - started)) s after systemctl start: $(grep -ao "Recovery key or passphrase for $VOLUME[^:]*:" $TYPESCRIPT | head -n 1)"
  sleep 1 # the agent turns echo off just after printing the prompt
  head -n 1 $RK >&3
  wait_for 120 terminal_done || fail "systemctl start still running 120 s after the key was typed: $(prop $UNIT ActiveState)"
  exec 3>&-
  expect_eq "exit status of systemctl start at the terminal" "$(cat $TTY_RC)" 0
  expect_eq "$UNIT after the typed key" "$(prop $UNIT ActiveState)" active
  expect_mounted
  have_question && fail "the question is still open after the volume opened"
  luks-ssm status $VOLUME | grep -q 'with typed key' || fail "status does not say a typed key opened it: $(luks-ssm status $VOLUME | grep unlocked)"
  echo "what the terminal showed (the typed key echoes as '*'):"
  tr -d '\b\r' <$TYPESCRIPT | grep -ao "Recovery key or passphrase for $VOLUME.*" | tail -n 1 | tr -s ' '
  key_seen_in $TYPESCRIPT && fail "the recovery key was echoed on the terminal"
  journalctl -b --no-pager -o export >/run/vm-journal.export
  key_seen_in /run/vm-journal.export && fail "the recovery key is in the journal"
  rm -f /run/vm-journal.export
  grep -rlaF -e "$(head -n 1 $RK)" /run/luks-ssm /etc/luks-ssm /var/log 2>/dev/null && fail "the recovery key is on the disk"
  echo "typed at the terminal: opened and mounted, question gone, key in neither journal nor disk"
}

# ask_off (AWS down): with ASK_PASSWORD=no start only retries AWS: it fails with AWS's error and no question
# for the volume ever appears.
ask_off() {
  systemctl stop $UNIT
  expect_closed
  TIMEOUT_SEC=20 write_config
  echo ASK_PASSWORD=no >>/etc/luks-ssm/$VOLUME.conf
  systemctl daemon-reload
  rm -f /run/vm-asked
  ( for _ in $(seq 1 1200); do have_question && { echo asked >/run/vm-asked; break; }; sleep 0.1; done ) >/dev/null 2>&1 &
  local watcher=$!
  timeout 150 systemctl start $UNIT && fail "$UNIT started with AWS down and ASK_PASSWORD=no"
  kill $watcher 2>/dev/null
  [ -e /run/vm-asked ] && fail "a password question was opened although ASK_PASSWORD=no"
  case $(prop $UNIT ExecMainStatus) in 69 | 75) ;; *) fail "exit $(prop $UNIT ExecMainStatus) with ASK_PASSWORD=no, expected 69 or 75 (AWS's error)" ;; esac
  expect_closed
  echo "ASK_PASSWORD=no: failed with exit $(prop $UNIT ExecMainStatus), no question opened"
  systemctl reset-failed $UNIT
}

# restore (AWS up): the suite's usual config again, the volume and its dependent started.
restore() {
  rm -f $RK $TYPESCRIPT $TTY_IN $TTY_RC /run/vm-asked
  write_config
  systemctl daemon-reload
  timeout 150 systemctl start $UNIT || fail "systemctl start $UNIT with AWS back: exit $?"
  expect_mounted
  systemctl start $DEP || fail "systemctl start $DEP"
  grep -q "^$(cat /proc/sys/kernel/random/boot_id) " $MOUNT_POINT/dependent.log || fail "$DEP wrote nothing this boot"
}
