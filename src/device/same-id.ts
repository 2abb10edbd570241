// Disks that carry the UUID or PARTUUID that LUKS_DEVICE names: a snapshot of the volume restored and attached to the
// same instance (a common EBS recovery step) has the same LUKS header byte for byte, and udev's /dev/disk/by-uuid
// link then names whichever disk it saw last: start could open the old copy and the services write there.
// (LABEL= and PARTLABEL= are not accepted in a config: a label is not meant to be unique.)
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnlockError } from '../errors.ts';

/** The udev property that holds each tag's value (what udev's by-uuid and by-partuuid links are made from). */
const PROPERTY: Record<string, string> = { UUID: 'ID_FS_UUID', PARTUUID: 'ID_PART_ENTRY_UUID' };

export const UDEV_DATA_DIR = '/run/udev/data';

export interface SameIdOptions {
  /** Where /sys is (tests). */
  sysRoot?: string | undefined;
  /** udev's database of block devices, b<major>:<minor> files (tests). */
  udevDataDir?: string | undefined;
}

/**
 * The block devices (/dev/<name>) whose udev record carries `spec`'s UUID= or PARTUUID= value (case as udev compares
 * it: not at all); [] for any other form of LUKS_DEVICE, or where udev keeps no records. A carrier that sits beneath another
 * carrier (a dm-multipath path under its map, which blkid may have read too) is not a disk of its own.
 */
export async function devicesWithSameId(spec: string, opts: SameIdOptions = {}): Promise<string[]> {
  const tag = /^(UUID|PARTUUID)=(.+)$/.exec(spec);
  if (tag === null) return [];
  const prefix = `E:${PROPERTY[tag[1] as string]}=`;
  const wanted = (tag[2] as string).toLowerCase();
  const classDir = join(opts.sysRoot ?? '/sys', 'class', 'block');
  const names = await readdir(classDir).catch(() => [] as string[]);
  const carrying = await Promise.all(
    names.map(async (name) => {
      const number = (await readFile(join(classDir, name, 'dev'), 'utf8').catch(() => '')).trim();
      if (!/^\d+:\d+$/.test(number)) return undefined;
      const record = await readFile(join(opts.udevDataDir ?? UDEV_DATA_DIR, `b${number}`), 'utf8').catch(() => '');
      const carries = record.split('\n').some((line) => line.startsWith(prefix) && line.slice(prefix.length).toLowerCase() === wanted);
      return carries ? name : undefined;
    }),
  );
  const carriers = carrying.filter((name): name is string => name !== undefined);
  const beneath = await Promise.all(
    carriers.map(async (name) => (await readdir(join(classDir, name, 'holders')).catch(() => [] as string[])).some((holder) => carriers.includes(holder))),
  );
  return carriers.filter((_, i) => !beneath[i]).map((name) => `/dev/${name}`).sort();
}

/**
 * Refuses (DEVICE_AMBIGUOUS) when another disk than `device` carries the id LUKS_DEVICE names: which one is the
 * volume is not for luks-ssm to guess.
 */
export async function refuseIfIdAmbiguous(spec: string, device: string, opts: SameIdOptions = {}): Promise<void> {
  const carriers = await devicesWithSameId(spec, opts);
  if (carriers.length < 2) return;
  throw new UnlockError('DEVICE_AMBIGUOUS', `LUKS_DEVICE=${spec} names ${carriers.length} disks (${carriers.join(', ')}; udev points at ${device}), refusing to guess which is the volume`, {
    hint: 'a restored snapshot of the volume attached here? detach the copy, or name the disk by its EBS volume id (LUKS_DEVICE=vol-…)',
  });
}
