// The device lock: two volume configs may name one disk by different names (/dev/nvme1n1, /dev/disk/by-id/…,
// UUID=…), so their volume locks differ; this lock, named by the device's number, makes their runs exclude each other.
//
// Every run takes its locks in one order, so no two runs ever wait on each other in a circle:
//   1. the volume locks (lock.volume/map/mount.<hash>): all of them, in sorted order, before anything else;
//   2. the device lock, once the device is resolved (it may not exist earlier), holding all of 1 (check holds none);
//   3. the host lock, only around one cryptsetup call, never held while waiting for another lock.
// A run waiting for a device lock holds only volume locks, which the holder of that device lock never waits for (it
// took all of its own first, and one device only); the host lock's holder waits for nothing. So every wait points
// from a lock to a later one in this order, and a cycle of waits cannot close.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { constants, type Stats } from 'node:fs';
import { join } from 'node:path';
import { majorMinor } from '../device/device-number.ts';
import { isUnlockError, printable, UnlockError } from '../errors.ts';
import type { Runner } from '../types.ts';
import { acquireRunLock, formatSeconds, type RunLock } from './run-lock.ts';

/**
 * A block device by its number (one disk, whatever path reaches it); an image file (check and the lifecycle verbs
 * accept one) by its inode. A loop device and its backing file get different locks: images are for tests and
 * offline preparation, not for volumes started at boot.
 */
export function deviceLockName(info: Stats): string {
  return info.isBlockDevice() ? `lock.device.${majorMinor(info.rdev)}` : `lock.file.${info.dev}.${info.ino}`;
}

/** A device lock taken before the device was resolved for good (with the volume locks, in one process). */
export interface EarlyDeviceLock {
  /** Its file name (deviceLockName). */
  name: string;
  lock: RunLock;
}

/** The lock file name of `device` as it is now; undefined when it can't be stat'ed (acquireDeviceLock says why later). */
export async function deviceLockNameOf(device: string): Promise<string | undefined> {
  return stat(device).then(deviceLockName, () => undefined);
}

/**
 * Takes the lock of the resolved `device` for `holder` (a volume name) within `deadline`: one flock(1) spawn, or
 * none when `early` is that device's lock already (it is let go when it is another's).
 */
export async function acquireDeviceLock(opts: { dir: string; device: string; holder: string; deadline: number; now: () => number; run?: Runner; early?: EarlyDeviceLock }): Promise<RunLock> {
  const info = await stat(opts.device).catch(async (error: NodeJS.ErrnoException) => {
    await opts.early?.lock.release();
    const gone = error.code === 'ENOENT';
    throw new UnlockError(gone ? 'DEVICE_MISSING' : 'PERMISSION', `Failed to lock device ${opts.device}: ${gone ? 'it is gone' : error.code ?? 'error'}`, { cause: error, retryable: gone });
  });
  const name = deviceLockName(info);
  const path = join(opts.dir, name);
  if (opts.early?.name === name) {
    await writeHolder(path, opts.holder);
    return opts.early.lock;
  }
  await opts.early?.lock.release();
  const waitMs = Math.max(1, opts.deadline - opts.now());
  let lock: RunLock;
  try {
    lock = await acquireRunLock({ dir: opts.dir, name, timeoutMs: waitMs, run: opts.run });
  } catch (error) {
    if (!isUnlockError(error) || error.kind !== 'LOCKED') throw error;
    const holder = await holderOf(path);
    const what = info.isBlockDevice() ? `device ${opts.device} (${majorMinor(info.rdev)})` : opts.device;
    throw new UnlockError('LOCKED', `Another luks-ssm run${holder ? ` (volume ${holder})` : ''} holds ${path}, the lock of ${what}; gave up after ${formatSeconds(waitMs)} s`, {
      cause: error,
      retryable: true,
      hint: holder
        ? `runs on one device wait for each other, also when volume configs name it differently: see systemctl status luks-ssm@${holder}`
        : 'see systemctl list-units "luks-ssm@*" for the run still in progress',
    });
  }
  await writeHolder(path, opts.holder);
  return lock;
}

/**
 * Named for a run that waits in vain. Written through a descriptor of its own: the lock belongs to the one the
 * run keeps open, and closing another never drops it (flock(2), unlike fcntl locks). Best effort.
 */
async function writeHolder(path: string, holder: string): Promise<void> {
  // O_NOFOLLOW: a symlink planted in the run directory is not written through (review 9).
  await writeFile(path, `${holder}\n`, { flag: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW }).catch(() => {});
}

/** The volume whose run last took the lock (the one holding it, when it is held), or undefined. */
async function holderOf(path: string): Promise<string | undefined> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const first = text.split('\n')[0]?.slice(0, 250) ?? '';
  return first === '' ? undefined : printable(first);
}
