#!/bin/bash
# Guest half of 01-install: installs the .deb from the share the way a user does (apt, no network).
. /mnt/host/product.sh

install_deb() {
  [ -f "$DEB" ] || fail "no package at $DEB"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$DEB" || fail "apt-get install $DEB failed"
  show version luks-ssm --version || fail "luks-ssm --version failed"
  systemctl cat luks-ssm@.service >/dev/null || fail "luks-ssm@.service not known to systemd"
  local state
  state=$(systemctl is-enabled luks-ssm.target 2>&1)
  echo "luks-ssm.target: $state"
  [ "$state" = enabled ] || fail "luks-ssm.target is '$state' after install, expected enabled"
  luks-ssm status $VOLUME
  local rc=$?
  echo "status of an unconfigured volume: exit $rc"
  [ $rc = 6 ] || fail "luks-ssm status on an unconfigured volume: exit $rc, expected 6 (not configured)"
}
