#!/bin/bash
# Helpers sourced by every guest script the harness runs (boot and step scripts): bounded waits and checks.
set -u

# fail MESSAGE: print to stderr and stop the script with status 1 (the host reports the message).
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# wait_for SECONDS COMMAND...: retry COMMAND every 0.2 s until it succeeds or SECONDS pass. Arguments are
# expanded once, at the call: to re-read a value on every try, pass a function that reads it.
wait_for() {
  local deadline=$(($(date +%s) + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# wait_booted SECONDS: wait until systemd finished starting up (running or degraded).
wait_booted() {
  timeout "$1" systemctl is-system-running --wait >/dev/null 2>&1
  case $(systemctl is-system-running) in running | degraded) return 0 ;; *) return 1 ;; esac
}

# tcp_open HOST PORT: succeed when a TCP connection can be made within 3 s (bash /dev/tcp, no curl needed).
tcp_open() {
  timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# show LABEL COMMAND...: print a labelled command output, for the host-side log.
show() {
  local label=$1
  shift
  echo "== $label"
  "$@" 2>&1
}
