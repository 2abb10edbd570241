// Whether the kernel has a device-mapper device of a name, from sysfs: "absent" only when sysfs surely says so.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { carries, dmNamePresence, holdersOf, topOf } from '../../src/luks/dm-names.ts';
import { addDmDevice, addHolder, createSysfs, removeDmDevice } from '../support/fake-sysfs.ts';

let dir: string;
let sys: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'luks-ssm-dm-names-'));
  sys = createSysfs(join(dir, 'sys'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('dmNamePresence', () => {
  it('is absent when no device-mapper device has the name, present when one has', async () => {
    addDmDevice(sys, 'other');
    expect(await dmNamePresence('data', sys)).toBe('absent');
    addDmDevice(sys, 'data');
    expect(await dmNamePresence('data', sys)).toBe('present');
    removeDmDevice(sys, 'data');
    expect(await dmNamePresence('data', sys)).toBe('absent');
  });

  it('compares the whole name exactly (the file ends in one newline)', async () => {
    for (const name of ['data1', 'dat', 'Data', 'data\n', ' data', 'xdata']) addDmDevice(sys, name, `LVM-${name}`);
    expect(await dmNamePresence('data', sys)).toBe('absent');
    addDmDevice(sys, 'data.-_x', 'LVM-not-a-crypt-mapping');
    // Any device-mapper device of the name, crypt or not: cryptsetup status says what it is.
    expect(await dmNamePresence('data.-_x', sys)).toBe('present');
  });

  it('is unknown for a name libdevmapper would store mangled (a space becomes \\x20 in the kernel)', async () => {
    addDmDevice(sys, 'my\\x20data');
    for (const name of ['my data', 'my\\x20data', 'a/b', 'dåta', '']) expect(await dmNamePresence(name, sys), name).toBe('unknown');
  });

  it('is unknown when sysfs cannot be read: no /sys/block, not a directory, empty, a dm device without its name', async () => {
    expect(await dmNamePresence('data', join(dir, 'nothing'))).toBe('unknown');
    const file = join(dir, 'file');
    mkdirSync(file);
    writeFileSync(join(file, 'block'), '');
    expect(await dmNamePresence('data', file)).toBe('unknown');
    const empty = join(dir, 'empty');
    mkdirSync(join(empty, 'block'), { recursive: true });
    expect(await dmNamePresence('data', empty)).toBe('unknown');
    // A device going away (or coming) between the listing and the read: cryptsetup decides.
    mkdirSync(join(sys, 'block', 'dm-7'));
    expect(await dmNamePresence('data', sys)).toBe('unknown');
  });
});

describe('holdersOf', () => {
  it('lists the devices stacked on a disk: a device-mapper one by its own name, any other by its kernel name', async () => {
    mkdirSync(join(sys, 'dev', 'block', '259:1', 'holders'), { recursive: true });
    expect(await holdersOf('259:1', sys)).toEqual([]);
    addDmDevice(sys, 'elsewhere', undefined, '259:7');
    const dm = addDmDevice(sys, 'byhand', undefined, '259:1');
    addHolder(sys, '259:1', 'md127');
    expect(await holdersOf('259:1', sys)).toEqual([{ kernelName: dm, dmName: 'byhand', dmUuid: 'CRYPT-LUKS2-00000000000000000000000000000000-byhand' }, { kernelName: 'md127' }]);
    removeDmDevice(sys, 'byhand');
    expect(await holdersOf('259:1', sys)).toEqual([{ kernelName: 'md127' }]);
  });

  it('adds, for a partition, what is stacked on its whole disk (sysfs links the number into the disk\'s directory)', async () => {
    const disk = join(sys, 'devices', 'pci0', 'sda');
    mkdirSync(join(disk, 'sda1', 'holders'), { recursive: true });
    mkdirSync(join(disk, 'holders'));
    writeFileSync(join(disk, 'sda1', 'partition'), '1\n');
    symlinkSync('../../devices/pci0/sda/sda1', join(sys, 'dev', 'block', '8:1'));
    expect(await holdersOf('8:1', sys)).toEqual([]);
    const mpath = addDmDevice(sys, 'mpatha', 'mpath-3600', undefined);
    writeFileSync(join(disk, 'holders', mpath), '');
    expect(await holdersOf('8:1', sys)).toEqual([{ kernelName: mpath, dmName: 'mpatha', dmUuid: 'mpath-3600' }]);
  });

  it('cannot tell (undefined) when sysfs has no entry for the disk', async () => {
    expect(await holdersOf('259:1', sys)).toBeUndefined();
    expect(await holdersOf('259:1', join(dir, 'no-sysfs'))).toBeUndefined();
  });

  it('gives no dm name when it cannot be read whole (a device coming or going)', async () => {
    addHolder(sys, '259:1', 'dm-9');
    mkdirSync(join(sys, 'block', 'dm-9', 'dm'), { recursive: true });
    writeFileSync(join(sys, 'block', 'dm-9', 'dm', 'name'), 'half');
    expect(await holdersOf('259:1', sys)).toEqual([{ kernelName: 'dm-9' }]);
  });
});

describe('carries', () => {
  it('finds a mapping that is the device or stacked on it (LUKS2 integrity: data on data_dif)', async () => {
    const dif = addDmDevice(sys, 'data_dif', 'CRYPT-SUBDEV-data_dif', '259:1');
    addDmDevice(sys, 'data', undefined, dif);
    const other = addDmDevice(sys, 'byhand', undefined, '259:2');
    expect(await carries(dif, 'data', sys)).toBe(true);
    expect(await carries(dif, 'data_dif', sys)).toBe(true);
    expect(await carries(other, 'data', sys)).toBe(false);
    expect(await carries(dif, 'data', sys, 0)).toBe(false);
    removeDmDevice(sys, 'data');
    expect(await carries(dif, 'data', sys)).toBe(false);
  });
});

describe('topOf', () => {
  it('follows the holders up to the device nothing is stacked on, within the depth given', async () => {
    const dif = addDmDevice(sys, 'foo_dif', 'CRYPT-SUBDEV-foo_dif', '259:1');
    const foo = addDmDevice(sys, 'foo', undefined, dif);
    const lv = addDmDevice(sys, 'vg-lv', 'LVM-x', foo);
    expect(await topOf(dif, sys)).toBe(lv);
    expect(await topOf(dif, sys, 1)).toBe(foo);
    expect(await topOf(lv, sys)).toBe(lv);
  });
});
