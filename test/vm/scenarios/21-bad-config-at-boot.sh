#!/bin/bash
# Guest half of 21-bad-config-at-boot (follows 20-bad-config.sh in the script): a config error present at boot
# makes the generator skip that volume, and its reason is in the kernel log under its own identifier
# (`journalctl -k -t luks-ssm-generator`, as the README advises) on every systemd, not on the console only.

# bad_config_state: "present" when 20's bad config was already there when this boot began.
bad_config_state() {
  local booted_at
  booted_at=$(($(date +%s) - $(cut -d. -f1 /proc/uptime)))
  if [ -f $BAD_CONF ] && [ "$(stat -c %Y $BAD_CONF)" -lt "$booted_at" ]; then echo present; else echo absent; fi
}

generator_logged_at_boot() {
  wait_booted 150 || echo "boot not finished: $(systemctl is-system-running)"
  local records first agent_us
  records=$(journalctl -k -b --no-pager -o short-monotonic -t luks-ssm-generator)
  echo "== journalctl -k -b -t luks-ssm-generator"
  echo "$records"
  echo "$records" | grep -qF "Volume '$BAD': $BAD_REASON" || fail "the generator's skip reason for $BAD_CONF is not in the kernel log"
  # From the run at boot, not from a later daemon-reload: logged before the agent (a late boot unit) started.
  first=$(echo "$records" | grep -m1 -F "Volume '$BAD'" | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p')
  agent_us=$(prop vm-agent.service ExecMainStartTimestampMonotonic)
  echo "first skip record at ${first} s, agent started at ${agent_us} us"
  awk -v a="$first" -v b="$agent_us" 'BEGIN { exit !(a * 1000000 < b) }' || fail "the skip record is not from the boot-time generator run"
  local failed
  failed=$(systemctl list-units --no-legend --state=failed 'luks-ssm@*')
  [ -z "$failed" ] || fail "luks-ssm units failed this boot: $failed"
  echo "other volumes this boot: $(systemctl list-units --no-legend --state=active 'luks-ssm@*' | awk '{print $1}' | paste -sd' ')"
  rm -f $BAD_CONF
  systemctl daemon-reload
}
