#!/bin/bash
# Guest half of 07-secret-absent: copies the journal (all boots), /run and /var/log to the share for the host
# to search, and leaves a canary on the root disk and in the journal so the host's search is proven to see them.
. /mnt/host/product.sh

dump_for_scan() {
  mkdir -p /mnt/host/scan
  echo "$CANARY" >/root/scan-canary
  logger -t vm-scan "canary $CANARY"
  journalctl --flush
  journalctl --no-pager -o export >/mnt/host/scan/journal.export || fail "journalctl export"
  tar -C / -cf /mnt/host/scan/run-and-var-log.tar run var/log 2>/dev/null
  [ -s /mnt/host/scan/run-and-var-log.tar ] || fail "tar of /run and /var/log is empty"
  sync
  ls -l /mnt/host/scan
}
