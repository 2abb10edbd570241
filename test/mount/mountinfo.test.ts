// mountinfo parsing: octal escapes, optional fields, and stacked mounts at one target.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findMountAt, parseMountinfo, readMounts } from '../../src/mount/mountinfo.ts';

const SAMPLE = [
  '22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro',
  '61 22 253:0 / /srv/my\\040data rw,nosuid,noatime shared:30 master:2 - xfs /dev/mapper/my\\040data rw,attr2',
  '62 22 253:1 / /mnt/tab\\011and\\134back\\012line rw - ext4 /dev/mapper/odd rw',
  '70 61 0:45 / /srv/my\\040data rw,relatime - tmpfs tmpfs rw,size=1024k',
  'garbage line without a separator',
  '',
].join('\n');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'luks-ssm-mountinfo-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseMountinfo', () => {
  it('decodes octal escapes, keeps the optional (propagation) fields apart, and skips junk', () => {
    const entries = parseMountinfo(SAMPLE);
    expect(entries).toHaveLength(4);
    expect(entries[1]).toEqual({
      mountId: 61,
      parentId: 22,
      majorMinor: '253:0',
      source: '/dev/mapper/my data',
      target: '/srv/my data',
      fsType: 'xfs',
      options: 'rw,nosuid,noatime',
      superOptions: 'rw,attr2',
      propagation: ['shared:30', 'master:2'],
    });
    expect(entries[2]!.target).toBe('/mnt/tab\tand\\back\nline');
    expect(entries[2]!.options).toBe('rw');
  });
});

describe('findMountAt', () => {
  it('returns the top of a stack of mounts, ignoring a trailing slash', async () => {
    const file = join(dir, 'mountinfo');
    await writeFile(file, SAMPLE);
    expect(await findMountAt('/srv/my data/', file)).toMatchObject({ mountId: 70, fsType: 'tmpfs' });
    expect(await findMountAt('/srv', file)).toBeUndefined();
  });

  it('reads the real mount table of this process', async () => {
    expect((await readMounts()).some((entry) => entry.target === '/')).toBe(true);
    expect(await findMountAt('/proc')).toMatchObject({ fsType: 'proc' });
  });
});
