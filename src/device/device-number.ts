// A block device's number as the kernel writes it ("259:1", as in mountinfo and lsblk), from a stat's st_rdev.
import { stat } from 'node:fs/promises';

/** glibc's major()/minor() of a dev_t (the numbers devices get fit in 32 bits; past that JS's bitwise ops would cut). */
export function majorMinor(rdev: number): string {
  return `${((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff)}:${(rdev & 0xff) | ((rdev >>> 12) & ~0xff)}`;
}

/**
 * Whether `a` and `b` name the same block device: by number, since one device has many names (cryptsetup writes a
 * device-mapper disk as /dev/mapper/vg0-data where its realpath is /dev/dm-3, review 14). A path that is not there,
 * or not a block device, is not the same.
 */
export async function isSameBlockDevice(a: string, b: string): Promise<boolean> {
  if (a === b) return true;
  const [x, y] = await Promise.all([stat(a).catch(() => undefined), stat(b).catch(() => undefined)]);
  return x !== undefined && y !== undefined && x.isBlockDevice() && y.isBlockDevice() && x.rdev === y.rdev;
}
