// What makes start refuse before it touches the volume (each one line and its fix), and the bound on systemd's answer.
import { isUnlockError, UnlockError } from '../errors.ts';
import { isLuks } from '../luks/cryptsetup.ts';
import type { Clock, Runner, VolumeConfig } from '../types.ts';
import { mapperPath } from './inspect.ts';

/** A dependent that already runs may have written into the bare mount point: mounting would hide that. */
export function refuseIfDependentsRunning(config: VolumeConfig, active: string[]): void {
  if (active.length > 0) {
    throw new UnlockError('MOUNT_REFUSED', `${active.join(', ')} already running before ${config.mountPoint} was mounted, refusing`, {
      hint: `stop ${active.join(' ')}, check ${config.mountPoint} on the root disk, then start again`,
    });
  }
}

export async function refuseForeignMapping(openOn: string | undefined, device: string, config: VolumeConfig): Promise<void> {
  if (openOn !== undefined && openOn !== device) {
    throw new UnlockError('MOUNT_REFUSED', `${mapperPath(config.mapName)} is open on ${openOn}, not on the configured ${device}, refusing`, {
      hint: `close it (cryptsetup close ${config.mapName}) or fix LUKS_DEVICE_MAP`,
    });
  }
}

/** `answer`, or TIMEOUT once the deadline comes first (the bus has timeouts of its own, up to ~45 s in all). */
export async function beforeDeadline<T>(answer: Promise<T>, deadline: number, clock: Clock, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UnlockError('TIMEOUT', `No answer before the deadline: ${what}`, {
      hint: 'check that systemd and the D-Bus daemon answer (systemctl is-system-running), or raise TIMEOUT_SEC',
    })), Math.max(1, deadline - clock.now()));
    timer.unref();
  });
  try {
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
  }
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
      hint: 'check LUKS_DEVICE; luks-ssm never formats a device',
    });
  }
}
