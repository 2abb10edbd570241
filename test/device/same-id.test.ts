// A UUID= or PARTUUID= that more than one attached disk carries (a restored snapshot of the volume) is refused.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { devicesWithSameId, refuseIfIdAmbiguous } from '../../src/device/same-id.ts';

const UUID = '5f2c0c4e-7d4b-4b8e-9a57-1d2f3e4a5b6c';
let dir: string;
let opts: { sysRoot: string; udevDataDir: string };

/** A block device in the fake sysfs, and its udev record with `properties`. */
function disk(name: string, number: string, properties: string[]): void {
  mkdirSync(join(opts.sysRoot, 'class', 'block', name), { recursive: true });
  writeFileSync(join(opts.sysRoot, 'class', 'block', name, 'dev'), `${number}\n`);
  writeFileSync(join(opts.udevDataDir, `b${number}`), ['S:disk/by-id/x', ...properties.map((p) => `E:${p}`), 'G:systemd', ''].join('\n'));
}

/** `holder` sits on top of `name` (sysfs lists it in name's holders/: a dm-multipath map over its paths, say). */
function holds(holder: string, name: string): void {
  mkdirSync(join(opts.sysRoot, 'class', 'block', name, 'holders', holder), { recursive: true });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'luks-ssm-same-id-'));
  opts = { sysRoot: join(dir, 'sys'), udevDataDir: join(dir, 'udev') };
  mkdirSync(opts.udevDataDir);
  disk('nvme0n1', '259:0', ['ID_FS_TYPE=xfs', 'ID_FS_UUID=11111111-2222-3333-4444-555555555555']);
  disk('nvme1n1', '259:1', ['ID_FS_TYPE=crypto_LUKS', `ID_FS_UUID=${UUID}`, 'ID_PART_ENTRY_UUID=aaaa']);
  disk('dm-0', '253:0', ['ID_FS_TYPE=ext4', 'ID_FS_UUID=99999999-2222-3333-4444-555555555555']);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('devicesWithSameId', () => {
  it('finds the one disk with the UUID, whatever its case in LUKS_DEVICE', async () => {
    expect(await devicesWithSameId(`UUID=${UUID.toUpperCase()}`, opts)).toEqual(['/dev/nvme1n1']);
    expect(await devicesWithSameId('PARTUUID=AAAA', opts)).toEqual(['/dev/nvme1n1']);
  });

  it('finds a restored copy too; a value inside another property or a longer one is no match', async () => {
    disk('nvme2n1', '259:2', ['ID_FS_TYPE=crypto_LUKS', `ID_FS_UUID=${UUID}`]);
    disk('nvme3n1', '259:3', [`ID_FS_LABEL=${UUID}`, `ID_FS_UUID=${UUID}0`]);
    expect(await devicesWithSameId(`UUID=${UUID}`, opts)).toEqual(['/dev/nvme1n1', '/dev/nvme2n1']);
  });

  it('counts a dm-multipath map once, not its paths that blkid read too; a copy beside it still counts', async () => {
    disk('sda', '8:0', ['ID_FS_TYPE=crypto_LUKS', `ID_FS_UUID=${UUID}`]);
    disk('sdb', '8:16', ['ID_FS_TYPE=crypto_LUKS', `ID_FS_UUID=${UUID}`]);
    disk('dm-2', '253:2', ['DM_UUID=mpath-3600a0b80', 'ID_FS_TYPE=crypto_LUKS', `ID_FS_UUID=${UUID}`]);
    rmSync(join(opts.udevDataDir, 'b259:1'));
    holds('dm-2', 'sda');
    holds('dm-2', 'sdb');
    expect(await devicesWithSameId(`UUID=${UUID}`, opts)).toEqual(['/dev/dm-2']);
    disk('nvme2n1', '259:2', ['ID_FS_TYPE=crypto_LUKS', `ID_FS_UUID=${UUID}`]);
    expect(await devicesWithSameId(`UUID=${UUID}`, opts)).toEqual(['/dev/dm-2', '/dev/nvme2n1']);
  });

  it('is empty for other forms of LUKS_DEVICE, and where there is no sysfs or udev database', async () => {
    expect(await devicesWithSameId('/dev/nvme1n1', opts)).toEqual([]);
    expect(await devicesWithSameId('vol-0123456789abcdef0', opts)).toEqual([]);
    expect(await devicesWithSameId(`FSUUID=${UUID}`, opts)).toEqual([]);
    expect(await devicesWithSameId('LABEL=data', opts)).toEqual([]);
    expect(await devicesWithSameId(`UUID=${UUID}`, { sysRoot: join(dir, 'none'), udevDataDir: opts.udevDataDir })).toEqual([]);
    expect(await devicesWithSameId(`UUID=${UUID}`, { sysRoot: opts.sysRoot, udevDataDir: join(dir, 'none') })).toEqual([]);
  });
});

describe('refuseIfIdAmbiguous', () => {
  it('lets one carrier pass, and refuses two with DEVICE_AMBIGUOUS (89) naming both and the way out', async () => {
    await expect(refuseIfIdAmbiguous(`UUID=${UUID}`, '/dev/nvme1n1', opts)).resolves.toBeUndefined();
    disk('nvme2n1', '259:2', ['ID_FS_TYPE=crypto_LUKS', `ID_FS_UUID=${UUID}`]);
    await expect(refuseIfIdAmbiguous(`UUID=${UUID}`, '/dev/nvme2n1', opts)).rejects.toMatchObject({
      exitCode: 89,
      message: `LUKS_DEVICE=UUID=${UUID} names 2 disks (/dev/nvme1n1, /dev/nvme2n1; udev points at /dev/nvme2n1), refusing to guess which is the volume`,
      hint: expect.stringContaining('LUKS_DEVICE=vol-'),
    });
  });
});
