// A stand-in for the kernel's /sys/block (LUKS_SSM_SYS_ROOT): one disk, vda, and a dm-N directory per open mapping,
// which the fake cryptsetups keep in step with their own `status` (the product asks sysfs first, #13).
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Makes `root`/block with the one disk a host always has, and no device-mapper device. */
export function createSysfs(root: string): string {
  mkdirSync(join(root, 'block', 'vda'), { recursive: true });
  mkdirSync(join(root, 'dev', 'block'), { recursive: true });
  return root;
}

/**
 * A device-mapper device named `name`, as the kernel lists it: dm-N/dm/name is the name and a newline. `on` lists it
 * among the holders of what it is stacked on: a disk by number ("240:0": dev/block/240:0/holders/dm-N) or another
 * device-mapper device by kernel name ("dm-0": block/dm-0/holders/dm-N).
 */
export function addDmDevice(root: string, name: string, uuid = `CRYPT-LUKS2-00000000000000000000000000000000-${name}`, on?: string): string {
  const block = join(root, 'block');
  // mkdir claims the number: two opens at once never share one.
  for (let n = 0; ; n++) {
    const dir = join(block, `dm-${n}`);
    try {
      mkdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw error;
    }
    mkdirSync(join(dir, 'dm'));
    writeFileSync(join(dir, 'dm', 'uuid'), `${uuid}\n`);
    writeFileSync(join(dir, 'dm', 'name'), `${name}\n`);
    if (on !== undefined) addHolder(root, on, `dm-${n}`);
    return `dm-${n}`;
  }
}

/** Removes the device-mapper device named exactly `name`, if there is one. */
export function removeDmDevice(root: string, name: string): void {
  const block = join(root, 'block');
  const wanted = Buffer.from(`${name}\n`);
  for (const entry of readdirSync(block).filter((e) => e.startsWith('dm-'))) {
    const recorded = (() => {
      try {
        return readFileSync(join(block, entry, 'dm', 'name'));
      } catch {
        return undefined;
      }
    })();
    if (!recorded?.equals(wanted)) continue;
    rmSync(join(block, entry), { recursive: true, force: true });
    for (const parent of [join(root, 'dev', 'block'), block]) {
      for (const device of readdirSync(parent)) rmSync(join(parent, device, 'holders', entry), { force: true });
    }
  }
}

/** Lists `holder` (dm-0, md127) among the holders of `on` (a disk's number "240:0", or a kernel name "dm-0"), as sysfs links do. */
export function addHolder(root: string, on: string, holder: string): void {
  const holders = on.includes(':') ? join(root, 'dev', 'block', on, 'holders') : join(root, 'block', on, 'holders');
  mkdirSync(holders, { recursive: true });
  writeFileSync(join(holders, holder), '');
}
