// Turns LUKS_DEVICE (a path, UUID=, PARTUUID=, LABEL=, or an EBS volume id) into a device node, waiting for udev.
import { realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UnlockError } from '../errors.ts';
import type { Clock } from '../types.ts';
import { deviceCandidates } from './candidates.ts';

/** How often to look again while the device is not there yet (udev usually needs well under a second). */
export const DEVICE_POLL_MS = 200;

export interface ResolveOptions {
  /** Absolute time (clock.now() scale) after which a missing device is an error. */
  deadline: number;
  clock: Clock;
  /** Where /dev is; tests point it at a temp dir. */
  devRoot?: string;
  /** `check` may run on an image file instead of a block device. */
  allowRegularFile?: boolean;
}

/** Returns the realpath of the device node (e.g. /dev/nvme1n1) once it exists. */
export async function resolveDevice(spec: string, opts: ResolveOptions): Promise<string> {
  const devRoot = opts.devRoot ?? '/dev';
  const underRoot = (path: string): string => (path.startsWith('/dev/') ? join(devRoot, path.slice(5)) : path);
  const candidates = deviceCandidates(spec).map(underRoot);
  const started = opts.clock.now();
  for (;;) {
    for (const candidate of candidates) {
      const found = await probe(spec, candidate, opts.allowRegularFile ?? false);
      if (found !== undefined) return found;
    }
    const now = opts.clock.now();
    if (now >= opts.deadline) {
      const seconds = Math.max(0, Math.ceil((opts.deadline - started) / 1000));
      throw new UnlockError('DEVICE_MISSING', `Device ${spec} did not appear within ${seconds} s`, {
        retryable: true,
        hint: 'check the volume is attached to this instance (aws ec2 describe-volumes) and run lsblk',
      });
    }
    await opts.clock.sleep(Math.min(DEVICE_POLL_MS, opts.deadline - now));
  }
}

/** undefined while the path does not exist (a dangling udev symlink counts as not there yet). */
async function probe(spec: string, path: string, allowRegularFile: boolean): Promise<string | undefined> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new UnlockError('PERMISSION', `Failed to inspect ${path} for device ${spec}: ${code ?? 'error'}`, {
      cause: error,
    });
  }
  if (info.isBlockDevice() || (allowRegularFile && info.isFile())) return realpath(path);
  const what = allowRegularFile ? 'a block device or a regular file' : 'a block device';
  // There, but not a disk (a character device, or a file a `dd` made before the disk was attached): waiting will not
  // change it, so a config error, not DEVICE_MISSING's "did not appear" (review 8).
  throw new UnlockError('CONFIG', `Device ${spec} (${path}) is not ${what}, refusing.`, { hint: 'check LUKS_DEVICE' });
}
