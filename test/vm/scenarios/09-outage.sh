#!/bin/bash
# Guest half of 09-outage: AWS down at boot then back (dependents start after the mount, logins open early),
# and a person answering the password question.
. /mnt/host/product.sh
MOUNTS_FOR=vm-mounts-for.service
OUTAGE_TIMEOUT_SEC=150
RK=/root/recovery-key.txt
# On the share: the guest saw the unlock fail against the stopped emulator (09-outage.ts waits for it).
AWS_DOWN_SEEN=aws-down-seen

# us_of UNIT PROP: a monotonic timestamp in microseconds (0 when it never happened this boot).
us_of() {
  prop "$1" "$2"
}

# setup_outage: the budget, a second dependent that only says RequiresMountsFor=, both enabled.
setup_outage() {
  TIMEOUT_SEC=$OUTAGE_TIMEOUT_SEC write_config
  cat >/etc/systemd/system/$MOUNTS_FOR <<UNIT
[Unit]
Description=VM test dependent ordered by RequiresMountsFor= only
RequiresMountsFor=$MOUNT_POINT

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'echo "\$(cat /proc/sys/kernel/random/boot_id) mounts-for" >>$MOUNT_POINT/mounts-for.log'

[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  systemctl enable $MOUNTS_FOR || fail "enable $MOUNTS_FOR"
  # systemctl show prints the timespan in human form ("3min 30s"), not as the drop-in wrote it.
  expect_eq "TimeoutStartSec of $UNIT" "$(prop $UNIT TimeoutStartUSec)" \
    "$(systemd-analyze timespan "$((OUTAGE_TIMEOUT_SEC + 60))s" | sed -n 's/^ *Human: //p')"
  [ -z "$(prop $UNIT Restart | grep -v '^no$')" ] || fail "$UNIT has Restart=$(prop $UNIT Restart)"
}

# status_watch: records every non-empty STATUS= line of the unit until its start ends (background, bounded).
# Stops on active or failed only: the agent may run this after the unit's start began, or before it.
status_watch() {
  ( for _ in $(seq 1 1500); do
      s=$(prop $UNIT StatusText); [ -n "$s" ] && echo "$(cut -d' ' -f1 /proc/uptime) $s"
      case $(prop $UNIT ActiveState) in active | failed) break ;; esac
      sleep 0.5
    done >/run/status-lines ) &
}

aws_failing() {
  prop $UNIT StatusText | grep -q 'AWS attempt [0-9]* failed'
}

# outage_boot (boot script): AWS down until 60 s after the unlock's first failed attempt was seen here: the
# host restarts the emulator then (a fixed delay from the reboot raced the guest's shutdown and boot times).
outage_boot() {
  status_watch
  wait_for 300 aws_failing || fail "$UNIT showed no failed AWS attempt: $(prop $UNIT ActiveState), status '$(prop $UNIT StatusText)'"
  touch /mnt/host/$AWS_DOWN_SEEN || fail "cannot tell the host (/mnt/host/$AWS_DOWN_SEEN)"
  wait_for 330 unit_is $UNIT active || fail "$UNIT is $(prop $UNIT ActiveState)/$(prop $UNIT SubState) after the outage"
  show unit systemctl status --no-pager $UNIT
  expect_mounted
  wait_for 60 unit_is $DEP active || fail "$DEP is $(prop $DEP ActiveState): $(journal_of $DEP | tail -3)"
  wait_for 60 unit_is $MOUNTS_FOR active || fail "$MOUNTS_FOR is $(prop $MOUNTS_FOR ActiveState): $(journal_of $MOUNTS_FOR | tail -3)"
  local started up mounted dep mf logins
  started=$(us_of $UNIT ExecMainStartTimestampMonotonic)
  up=$(us_of $UNIT ActiveEnterTimestampMonotonic)
  mounted=$(us_of $MOUNT_UNIT ActiveEnterTimestampMonotonic)
  dep=$(us_of $DEP ExecMainStartTimestampMonotonic)
  mf=$(us_of $MOUNTS_FOR ExecMainStartTimestampMonotonic)
  logins=$(us_of systemd-user-sessions.service ActiveEnterTimestampMonotonic)
  echo "MEASURED outage boot (s since boot): unlock started $((started / 1000000)), volume mounted $((mounted / 1000000)), active $((up / 1000000)); $DEP started $((dep / 1000000)); $MOUNTS_FOR started $((mf / 1000000)); logins (systemd-user-sessions) $((logins / 1000000)); restarts $(prop $UNIT NRestarts)"
  [ $((up - started)) -ge 30000000 ] || fail "the volume came up after $(((up - started) / 1000000)) s: AWS was not down long (check the host's restart)"
  [ "$dep" -ge "$up" ] || fail "$DEP started before the volume was active"
  [ "$mf" -ge "$mounted" ] || fail "$MOUNTS_FOR started before the mount"
  # The login gate's JobTimeoutSec= bounds the wait (45 s; 90 s in packages built before 334d62b) from when its job was queued.
  [ "$logins" -gt 0 ] && [ $((logins / 1000000)) -le 100 ] || fail "logins opened at $((logins / 1000000)) s, past the gate's bound"
  grep -q "^$(cat /proc/sys/kernel/random/boot_id) mounts-for" $MOUNT_POINT/mounts-for.log || fail "$MOUNTS_FOR wrote nothing into the volume"
  journal_of $UNIT | grep -q 'Dependency failed' && fail "a dependency failed"
  journal_of $DEP | grep -q 'Dependency failed' && fail "$DEP: Dependency failed"
  echo "STATUS lines seen while the unit started:"; head -n 5 /run/status-lines; tail -n 2 /run/status-lines
  grep -Eq 'AWS attempt [0-9]+ failed \(.*\), retrying.*gives up in [0-9]+ s' /run/status-lines || fail "no STATUS= line named the AWS attempt and the time left"
  expect_eq "STATUS= after start" "$(prop $UNIT StatusText)" ""
  [ -z "$(journalctl -b --no-pager -u $UNIT | grep -i 'reception only permitted')" ] || fail "systemd refused a notification"
}

# enroll_recovery: a recovery key (emulator up) written to a 0600 file for the person of the next steps.
enroll_recovery() {
  recovery_key_to $RK $OUTAGE_TIMEOUT_SEC
  luks-ssm recovery-key $VOLUME </dev/null >/tmp/rk-piped 2>&1 && fail "recovery-key printed to a pipe"
  luks-ssm status $VOLUME | grep -E '^recovery: +recovery key in key slot [0-9]+, created' || fail "status names no recovery slot: $(luks-ssm status $VOLUME)"
}

# ask_file: the password request of our volume, if one is open.
ask_file() {
  grep -l "^Id=luks-ssm:$VOLUME$" /run/systemd/ask-password/ask.* 2>/dev/null | head -n 1
}
question_changed() {
  [ "$(ask_file)" != "$1" ]
}
have_question() {
  [ -n "$(ask_file)" ]
}
socket_of() {
  sed -n 's/^Socket=//p' "$1"
}
reply() { # reply TEXT-FILE: answers the open question with the file's first line
  local f
  f=$(ask_file)
  [ -n "$f" ] || fail "no open question"
  head -n 1 "$1" | tr -d '\n' | /lib/systemd/systemd-reply-password 1 "$(socket_of "$f")" || fail "systemd-reply-password: exit $?"
}

stop_volume() {
  systemctl stop $DEP $MOUNTS_FOR $UNIT
  expect_closed
}

# status_asking: systemctl status shows the question in the unit's status line (kept in /tmp/status-asking).
status_asking() {
  systemctl status --no-pager $UNIT >/tmp/status-asking 2>&1
  grep -q 'Status: "[^"]*asking for a recovery key or passphrase (luks-ssm:data' /tmp/status-asking
}

# typed_key (a): AWS down, the question answered with the recovery key from inside the guest.
typed_key() {
  stop_volume
  systemctl start --no-block $UNIT
  wait_for 120 have_question || fail "no password question for $VOLUME: $(ls /run/systemd/ask-password/)"
  show question cat "$(ask_file)"
  # The line goes out once it has been wanted STATUS_QUIET_MS (2 s, src/systemd/notify.ts), through a spawned
  # systemd-notify: the question can show first, so wait for it (bounded) rather than look once.
  wait_for 30 status_asking || fail "(e) systemctl status shows no waiting line: $(systemctl status --no-pager $UNIT 2>&1 | head -12)"
  cat /tmp/status-asking
  reply $RK
  wait_for 60 unit_is $UNIT active || fail "$UNIT is $(prop $UNIT ActiveState) after the typed key"
  expect_mounted
  have_question && fail "the question is still open"
  luks-ssm status $VOLUME | grep -q 'with typed key' || fail "status does not say a typed key opened it"
  systemctl start $DEP $MOUNTS_FOR || fail "dependents"
  grep -F -q -f $RK <(journalctl -b --no-pager -o cat) && fail "the recovery key is in the journal"
  grep -rlF -f $RK /run/luks-ssm /etc/luks-ssm /var/log 2>/dev/null && fail "the recovery key is on the disk"
  echo "typed key: opened, question gone, key in neither journal nor disk"
}

# wrong_key (c): three wrong answers, then exit 80.
wrong_key() {
  stop_volume
  systemctl start --no-block $UNIT
  echo wrong-key >/tmp/wrong
  local prev
  for i in 1 2 3; do
    wait_for 120 have_question || fail "question $i not asked"
    prev=$(ask_file)
    reply /tmp/wrong
    wait_for 60 question_changed "$prev" || fail "question $i still open after the answer"
  done
  wait_for 60 unit_is $UNIT failed || fail "$UNIT is $(prop $UNIT ActiveState) after 3 wrong keys"
  expect_eq "exit status after 3 wrong keys" "$(prop $UNIT ExecMainStatus)" 80
  expect_closed
  systemctl reset-failed $UNIT
}

# aws_back_first (d): the question is open when AWS answers: it disappears and the SSM key opens.
question_open() {
  systemctl start --no-block $UNIT
  wait_for 120 have_question || fail "no question"
  echo "question open"
}
aws_back_first() {
  wait_for 120 unit_is $UNIT active || fail "$UNIT is $(prop $UNIT ActiveState) with AWS back"
  have_question && fail "the question was not withdrawn"
  luks-ssm status $VOLUME | grep -q 'with ssm:' || fail "not opened with the SSM key: $(luks-ssm status $VOLUME | grep unlocked)"
  echo "AWS answered first: question withdrawn, opened with the SSM key"
}
