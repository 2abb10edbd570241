// What makes start refuse before it touches the volume (each one line and its fix), and the bound on systemd's answer.
import { stat } from 'node:fs/promises';
import { isSameBlockDevice, majorMinor } from '../device/device-number.ts';
import { isUnlockError, printable, UnlockError } from '../errors.ts';
import { TIMED_OUT, within } from '../time-bound.ts';
import { isLuks } from '../luks/cryptsetup.ts';
import { carries, holdersOf, stackedDevice, topOf, type StackedDevice } from '../luks/dm-names.ts';
import { CRYPTTAB_PATH, readCrypttab } from '../systemd/crypttab.ts';
import type { Clock, Runner, VolumeConfig } from '../types.ts';
import type { VolumeDeps } from './deps.ts';
import { mapperPath, type VolumeState } from './inspect.ts';

/** A dependent that already runs may have written into the bare mount point: mounting would hide that. */
export function refuseIfDependentsRunning(config: VolumeConfig, active: string[]): void {
  if (active.length > 0) {
    throw new UnlockError('MOUNT_REFUSED', `${active.join(', ')} already running before ${config.mountPoint} was mounted, refusing`, {
      hint: `stop ${active.join(' ')}, check ${config.mountPoint} on the root disk, then start again`,
    });
  }
}

/** Another filesystem on the mount point (not this volume): mounting over it would hide it, and stop could not tell. */
export function refuseForeignMountAtTarget(state: VolumeState, config: VolumeConfig): void {
  if (state.mountAtTarget === undefined || state.mountedHere) return;
  throw new UnlockError('MOUNT_REFUSED', `${config.mountPoint} already has ${state.mountAtTarget.source} mounted on it, refusing`, {
    hint: `unmount it or choose another LUKS_DEVICE_MOUNT_POINT`,
  });
}

export async function refuseForeignMapping(openOn: string | undefined, device: string, config: VolumeConfig): Promise<void> {
  if (openOn !== undefined && !(await isSameBlockDevice(openOn, device))) {
    throw new UnlockError('MOUNT_REFUSED', `${mapperPath(config.mapName)} is open on ${openOn}, not on the configured ${device}, refusing`, {
      hint: `close it (cryptsetup close ${config.mapName}) or fix LUKS_DEVICE_MAP`,
    });
  }
}

/** `answer`, or TIMEOUT once the deadline comes first (the bus has timeouts of its own, up to ~45 s in all). */
export async function beforeDeadline<T>(answer: Promise<T>, deadline: number, clock: Clock, what: string): Promise<T> {
  const result = await within(deadline - clock.now(), answer);
  if (result !== TIMED_OUT) return result;
  throw new UnlockError('TIMEOUT', `No answer before the deadline: ${what}`, {
    hint: 'check that systemd and the D-Bus daemon answer (systemctl is-system-running), or raise TIMEOUT_SEC',
  });
}

/** luks-ssm never formats a device, and touches none that is not LUKS; `left` ms of TIMEOUT_SEC bound the check. */
export async function refuseIfNotLuks(run: Runner, device: string, config: VolumeConfig, left: number): Promise<void> {
  const luks = await isLuks(run, device, { timeoutMs: left }).catch((error: unknown) => {
    if (!isUnlockError(error) || error.kind !== 'TIMEOUT') throw error;
    throw new UnlockError('TIMEOUT', `Failed to check whether ${device} is LUKS: no answer in the ${(left / 1000).toFixed(1)} s left of TIMEOUT_SEC=${config.timeoutSec}`, {
      cause: error,
      hint: 'a disk that does not answer reads: see dmesg; if the steps before took the time, raise TIMEOUT_SEC',
    });
  });
  if (!luks) {
    throw new UnlockError('NOT_LUKS', `${device} (LUKS_DEVICE=${config.device}) is not a LUKS volume, refusing to touch it`, {
      hint: `check LUKS_DEVICE; a new, blank volume is made one with luks-ssm enroll ${config.volume} --format (start never formats a device)`,
    });
  }
}

/**
 * A disk already open under another name (a second config naming it by another path, a crypttab line left behind, LVM
 * or md on it) is not ours to touch; `cryptsetup open` would refuse it too, but only after the key was fetched, and as
 * a "busy" SYSTEM failure that names neither cause nor fix. Read from sysfs; when sysfs can't tell, cryptsetup decides.
 */
export async function refuseIfInUse(device: string, config: VolumeConfig, deps: Pick<VolumeDeps, 'sysRoot' | 'crypttabPath'>): Promise<void> {
  const others = await othersOn(device, config, deps.sysRoot);
  if (others === undefined || others.length === 0) return;
  throw new UnlockError('DEVICE_IN_USE', `${device} (LUKS_DEVICE=${config.device}) is already open as ${describeStacked(others)}, refusing to open it as ${config.mapName}`, {
    hint: await inUseHint(device, others, deps.crypttabPath),
  });
}

/**
 * What holds `device` besides the volume itself: not its own mapping, nor a helper cryptsetup put under it (LUKS2
 * integrity, re-encryption), nor cryptsetup's own short-lived temporary-cryptsetup-* devices (key slot I/O without the
 * kernel's crypto API), which a permanent refusal must not hang on. undefined when sysfs can't tell or no block device.
 */
export async function othersOn(device: string, config: VolumeConfig, sysRoot?: string): Promise<StackedDevice[] | undefined> {
  const info = await stat(device).catch(() => undefined);
  if (info === undefined || !info.isBlockDevice()) return undefined;
  const holders = await holdersOf(majorMinor(info.rdev), sysRoot);
  if (holders === undefined) return undefined;
  const others: StackedDevice[] = [];
  for (const holder of holders) {
    if (holder.dmName?.startsWith('temporary-cryptsetup-') || holder.dmUuid?.startsWith('CRYPT-TEMP-')) continue;
    if (await carries(holder.kernelName, config.mapName, sysRoot)) continue;
    // Named by what a person sees and closes: the top of its stack (foo, not its integrity helper foo_dif).
    const top = await topOf(holder.kernelName, sysRoot);
    others.push(top === holder.kernelName ? holder : await stackedDevice(top, sysRoot));
  }
  return others;
}

export function describeStacked(devices: StackedDevice[]): string {
  return devices.map((d) => (d.dmName === undefined ? `${d.kernelName} (/dev/${d.kernelName})` : `${printable(d.dmName)} (${mapperPath(printable(d.dmName))})`)).join(', ');
}

/** The fix, by who made the first device-mapper holder (its uuid's prefix); for a crypttab line that opens it, that line. */
export async function inUseHint(device: string, others: StackedDevice[], crypttabPath = CRYPTTAB_PATH): Promise<string> {
  const dm = others.find((d) => d.dmName !== undefined);
  if (dm?.dmName === undefined) return `see lsblk ${device}: something else uses this disk; check LUKS_DEVICE`;
  const name = printable(dm.dmName);
  const uuid = dm.dmUuid ?? '';
  if (uuid.startsWith('LVM-')) return `LVM uses this disk (${name} is a logical volume on it): check LUKS_DEVICE`;
  if (uuid.startsWith('mpath-')) return `${device} is one path of the multipath device ${name}: set LUKS_DEVICE=${mapperPath(name)}`;
  if (!uuid.startsWith('CRYPT-')) return `see lsblk ${device} and dmsetup info ${name}: check LUKS_DEVICE`;
  const entry = (await readCrypttab(crypttabPath)).find((e) => e.name === dm.dmName);
  if (entry !== undefined) return `${crypttabPath}:${entry.line} opens it as ${name}: remove that line (luks-ssm opens this disk), then cryptsetup close ${name} and start again`;
  return `if nothing uses it: cryptsetup close ${name}, then start again; if another luks-ssm config opened it: one disk, one config (luks-ssm status)`;
}
