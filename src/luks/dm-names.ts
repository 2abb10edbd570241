// Whether the kernel has a device-mapper device of a name, read from sysfs: at boot the mapping is never there, and
// a `cryptsetup status` to learn that costs a process (0.1-0.35 s under emulation, read cold from disk; #13).
import { access, readdir, readFile, realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const DEFAULT_SYS_ROOT = '/sys';

/**
 * The characters libdevmapper passes to the kernel as they are; in its default "auto" mode it mangles any other one
 * ("my data" is kept as "my\x20data"), so for such a name sysfs would not show what was asked (lvm2 libdm-common.c,
 * _is_whitelisted_char). Config allows fewer (src/config/validate.ts checkMapName).
 */
const KEPT_AS_IS = /^[0-9A-Za-z#+\-.:=@_]+$/;

/**
 * "absent" only when sysfs lists the block devices and none is a device-mapper device named exactly `name`.
 * "unknown" whenever it can't tell: no /sys/block (not mounted, a container), unreadable, empty (a host always has
 * the disk being unlocked), a dm device whose name can't be read (one coming or going), a name that would be mangled.
 * Every device-mapper device is /sys/block/dm-N, its name in dm/name followed by one newline (the kernel's
 * dm-sysfs.c). sysfs answers from memory: no read here waits on a device.
 * Not seen: a device created but never given a table (a cryptsetup killed half way) has no gendisk, so no sysfs entry,
 * on kernels since 5.15; it is "absent" here, and the `cryptsetup open` after the key fails on the name in use (exit 5,
 * "already exists": `dmsetup remove NAME` clears it), where `cryptsetup status` used to fail before the key.
 */
export async function dmNamePresence(name: string, sysRoot: string = DEFAULT_SYS_ROOT): Promise<'present' | 'absent' | 'unknown'> {
  if (!KEPT_AS_IS.test(name)) return 'unknown';
  const block = join(sysRoot, 'block');
  const entries = await readdir(block).catch(() => undefined);
  if (entries === undefined || entries.length === 0) return 'unknown';
  const wanted = Buffer.from(`${name}\n`);
  const names = await Promise.all(
    entries.filter((entry) => entry.startsWith('dm-')).map((entry) => readFile(join(block, entry, 'dm', 'name')).catch(() => undefined)),
  );
  if (names.some((recorded) => recorded?.equals(wanted))) return 'present';
  return names.includes(undefined) ? 'unknown' : 'absent';
}

/** A device the kernel has stacked on a disk: a device-mapper one (a LUKS open, LVM, multipath) or an md array. */
export interface StackedDevice {
  /** The kernel's name: dm-0, md127. */
  kernelName: string;
  /** A device-mapper device's own name (its /dev/mapper/ name); undefined for any other, or when it can't be read. */
  dmName?: string;
  /** Its device-mapper uuid, whose prefix says who made it: CRYPT-…, LVM-…, mpath-…; undefined when none. */
  dmUuid?: string;
}

/**
 * What the kernel has stacked on the block device `majorMinor` ("259:1"): its sysfs holders, each a link named by the
 * holder's kernel name, and for a partition its whole disk's too (multipath or md on the disk claims every partition).
 * undefined when sysfs can't tell (no /sys/dev/block entry: not mounted, a container).
 */
export async function holdersOf(majorMinor: string, sysRoot: string = DEFAULT_SYS_ROOT): Promise<StackedDevice[] | undefined> {
  // /sys/dev/block/M:m links to the device's own directory; a partition's sits inside its disk's.
  const dir = await realpath(join(sysRoot, 'dev', 'block', majorMinor)).catch(() => undefined);
  if (dir === undefined) return undefined;
  const entries = await readdir(join(dir, 'holders')).catch(() => undefined);
  if (entries === undefined) return undefined;
  const isPartition = await access(join(dir, 'partition')).then(() => true, () => false);
  const ofDisk = isPartition ? await readdir(join(dirname(dir), 'holders')).catch(() => [] as string[]) : [];
  return Promise.all([...entries.sort(), ...ofDisk.sort()].map((kernelName) => stackedDevice(kernelName, sysRoot)));
}

/** The device `kernelName` as sysfs shows it: its device-mapper name and uuid when it is one. */
export async function stackedDevice(kernelName: string, sysRoot: string = DEFAULT_SYS_ROOT): Promise<StackedDevice> {
  const [name, uuid] = await Promise.all(['name', 'uuid'].map((file) => readLine(join(sysRoot, 'block', kernelName, 'dm', file))));
  return { kernelName, ...(name === undefined ? {} : { dmName: name }), ...(uuid === undefined || uuid === '' ? {} : { dmUuid: uuid }) };
}

/**
 * The device at the top of what is stacked on `kernelName` (itself when nothing is), following the first holder of
 * each level within `depth`: another volume's LUKS2 integrity helper `foo_dif` gives `foo`, the one a person closes.
 */
export async function topOf(kernelName: string, sysRoot: string = DEFAULT_SYS_ROOT, depth = 4): Promise<string> {
  const above = await readdir(join(sysRoot, 'block', kernelName, 'holders')).catch(() => [] as string[]);
  const next = above.sort()[0];
  return next === undefined || depth === 0 ? kernelName : topOf(next, sysRoot, depth - 1);
}

/**
 * Whether the device-mapper device `name` is `kernelName` or stacked on it (within `depth` levels): cryptsetup puts a
 * LUKS2 integrity volume's mapping on `<name>_dif`, and one being re-encrypted on `<name>-overlay`/`-hotzone-…`.
 */
export async function carries(kernelName: string, name: string, sysRoot: string = DEFAULT_SYS_ROOT, depth = 4): Promise<boolean> {
  if ((await readLine(join(sysRoot, 'block', kernelName, 'dm', 'name'))) === name) return true;
  if (depth === 0) return false;
  const above = await readdir(join(sysRoot, 'block', kernelName, 'holders')).catch(() => [] as string[]);
  for (const holder of above) if (await carries(holder, name, sysRoot, depth - 1)) return true;
  return false;
}

/** A sysfs attribute's one line without its newline; undefined when it can't be read whole. */
async function readLine(path: string): Promise<string | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  return text?.endsWith('\n') ? text.slice(0, -1) : undefined;
}
