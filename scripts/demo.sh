#!/usr/bin/env bash
# The main job end to end on the embedded default: the project's SSM/KMS/IMDS emulator on the host, a real
# LUKS volume in a QEMU guest that installs the built .deb, enables the volume and reboots into it unlocked.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
unset NODE_OPTIONS

echo "== build the bundle and the amd64 package"
npm run --silent build
bash packaging/build.sh --only deb-amd64
deb=$(ls -t dist/luks-ssm_*_amd64.deb | head -n 1)

echo "== boot a Debian 12 guest, install $deb, enable a volume, reboot, check it is unlocked and mounted"
status=0
node test/vm/run.ts --deb "$deb" --only 01,02,03 || status=$?

# What the guest itself reported after the reboot: the unit, the unlock log lines, luks-ssm status, dependents.
after_reboot=.vm-work/bookworm/share/results/boot-2/stdout   # the runner's work dir per release
if [[ -f $after_reboot ]]; then
  echo
  echo "== in the guest after the reboot"
  cat "$after_reboot"
fi
exit "$status"
