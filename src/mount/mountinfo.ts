// Reads the kernel's mount table (/proc/self/mountinfo, proc(5)) to see what is mounted where.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

export const MOUNTINFO_PATH = '/proc/self/mountinfo';

export interface MountEntry {
  mountId: number;
  /** The mount this one sits on. */
  parentId: number;
  /** "major:minor" of the filesystem's device, decimal, as in mountinfo. */
  majorMinor: string;
  source: string;
  target: string;
  fsType: string;
  /** Per-mount options (rw,nosuid,relatime…). */
  options: string;
  /** The filesystem's own options, after the source (FUSE: user_id=…, allow_other). */
  superOptions: string;
  /** Propagation: the optional fields, shared:N (peer group N), master:N (a slave of group N), …; none when private. */
  propagation: string[];
}

/**
 * A line: `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`, i.e. id,
 * parent, major:minor, root, mount point, options, optional fields ending at "-", fs type, source, super
 * options. Space, tab, newline and backslash in paths are written as octal escapes (\040 …).
 */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (fields.length < 10 || dash < 0 || fields.length < dash + 3) continue;
    entries.push({
      mountId: Number(fields[0]),
      parentId: Number(fields[1]),
      majorMinor: fields[2]!,
      target: unescapeOctal(fields[4]!),
      options: fields[5]!,
      fsType: unescapeOctal(fields[dash + 1]!),
      source: unescapeOctal(fields[dash + 2]!),
      superOptions: fields[dash + 3] ?? '',
      propagation: fields.slice(6, dash),
    });
  }
  return entries;
}

export function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export async function readMounts(path: string = MOUNTINFO_PATH): Promise<MountEntry[]> {
  return parseMountinfo(await readFile(path, 'utf8'));
}

/** The mount you see at `target`: with stacked mounts that is the last one listed. */
export async function findMountAt(target: string, path: string = MOUNTINFO_PATH): Promise<MountEntry | undefined> {
  const wanted = resolve(target);
  return (await readMounts(path)).findLast((entry) => entry.target === wanted);
}
