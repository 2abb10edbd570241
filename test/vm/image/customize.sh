#!/bin/bash
# mmdebstrap customize hook: copies the guest config in and enables the harness units. $1 = root, $2 = files/.
set -euo pipefail
root=$1
files=$2

cp -a "$files/." "$root/"
mkdir -p "$root/mnt/host" "$root/var/log/journal"

chroot "$root" systemctl enable systemd-networkd.service mnt-host.mount vm-agent.service
chroot "$root" systemctl set-default multi-user.target
# Boot-time housekeeping that only slows a TCG boot (e2scrub_reap took 13 s) and never matters to a test.
chroot "$root" systemctl mask e2scrub_reap.service e2scrub_all.timer apt-daily.timer apt-daily-upgrade.timer
# Root without a password on the serial console, for debugging a broken boot by hand.
chroot "$root" passwd -d root
echo luks-ssm-vm >"$root/etc/hostname"
# A fixed machine id: the persistent journal of every boot lands in the same directory.
echo 4c554b53535356d0000000000000000a >"$root/etc/machine-id"

# A small initrd (only what mounts the virtio root) boots noticeably faster under TCG than MODULES=most.
printf '%s\n' virtio_pci virtio_blk ext4 crc32c_generic >>"$root/etc/initramfs-tools/modules"
chroot "$root" update-initramfs -u -k all
