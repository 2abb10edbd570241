// resolveDevice against a temp /dev: udev symlinks that appear late, never, or point at the wrong kind of file.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveDevice } from '../../src/device/resolve.ts';
import { UnlockError } from '../../src/errors.ts';
import type { Clock } from '../../src/types.ts';

const START = 1_000_000;
let devRoot: string;
let node: string;

/** A block device node in the temp dir: mknod as root, else a link to any block device of the host. */
function makeBlockDevice(path: string): void {
  if (process.getuid?.() === 0) {
    execFileSync('mknod', [path, 'b', '7', '0']);
    return;
  }
  const host = readdirSync('/dev').find((name) => statSync(join('/dev', name), { throwIfNoEntry: false })?.isBlockDevice());
  if (host === undefined) throw new Error('no block device to link to');
  execFileSync('ln', ['-s', join('/dev', host), path]);
}

function fakeClock(onSleep: (now: number) => Promise<void> = async () => {}): Clock & { sleeps: number[] } {
  let now = START;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    random: () => 0,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
      await onSleep(now);
    },
  };
}

async function link(relative: string, target: string): Promise<void> {
  await mkdir(dirname(join(devRoot, relative)), { recursive: true });
  await symlink(target, join(devRoot, relative));
}

beforeEach(async () => {
  devRoot = await mkdtemp(join(tmpdir(), 'luks-ssm-dev-'));
  makeBlockDevice(join(devRoot, 'nvme1n1'));
  node = await realpath(join(devRoot, 'nvme1n1'));
});
afterEach(async () => {
  await rm(devRoot, { recursive: true, force: true });
});

describe('resolveDevice', () => {
  it('returns a /dev path that is already there without sleeping', async () => {
    const clock = fakeClock();
    expect(await resolveDevice('/dev/nvme1n1', { deadline: START + 30_000, clock, devRoot })).toBe(node);
    expect(clock.sleeps).toEqual([]);
  });

  it('waits for a UUID= symlink that udev creates late, polling every 200 ms', async () => {
    const clock = fakeClock(async (now) => {
      if (now === START + 600) await link('disk/by-uuid/6a787a1d-217c-46d9-9c54-7c6b240c675a', '../../nvme1n1');
    });
    const spec = 'UUID=6a787a1d-217c-46d9-9c54-7c6b240c675a';
    expect(await resolveDevice(spec, { deadline: START + 30_000, clock, devRoot })).toBe(node);
    expect(clock.sleeps).toEqual([200, 200, 200]);
  });

  it('fails with DEVICE_MISSING exactly at the deadline when the device never appears', async () => {
    const clock = fakeClock();
    const error = await resolveDevice('PARTUUID=1234abcd-01', { deadline: START + 30_000, clock, devRoot }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnlockError);
    expect(error).toMatchObject({
      kind: 'DEVICE_MISSING',
      message: 'Device PARTUUID=1234abcd-01 did not appear within 30 s',
    });
    expect((error as UnlockError).hint).toContain('lsblk');
    expect(clock.now()).toBe(START + 30_000);
  });

  it.each([
    ['vol-0123456789abcdef0', 'disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0'],
    ['vol-0123456789abcdef0', 'disk/by-id/nvme-Amazon_Elastic_Block_Store_vol-0123456789abcdef0'],
    ['vol0123456789abcdef0', 'disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0'],
    ['/dev/sdf', 'xvdf'],
    ['/dev/xvdg', 'sdg'],
    ['PARTUUID=1234ABCD-01', 'disk/by-partuuid/1234abcd-01'],
    ['LABEL=my data', 'disk/by-label/my\\x20data'],
  ])('resolves %s through %s', async (spec, linkPath) => {
    await link(linkPath, join(devRoot, 'nvme1n1'));
    expect(await resolveDevice(spec, { deadline: START + 1000, clock: fakeClock(), devRoot })).toBe(node);
  });

  it('treats a dangling symlink as not there yet', async () => {
    await rm(join(devRoot, 'nvme1n1'));
    await link('disk/by-uuid/abc', '../../nvme1n1');
    const clock = fakeClock(async (now) => {
      if (now === START + 400) makeBlockDevice(join(devRoot, 'nvme1n1'));
    });
    expect(await resolveDevice('UUID=abc', { deadline: START + 5000, clock, devRoot })).toBe(
      await realpath(join(devRoot, 'nvme1n1')),
    );
    expect(clock.sleeps).toEqual([200, 200]);
  });

  it('refuses a regular file unless allowRegularFile (check on an image)', async () => {
    const image = join(devRoot, 'disk.img');
    await writeFile(image, Buffer.alloc(1024));
    await expect(resolveDevice(image, { deadline: START + 1000, clock: fakeClock(), devRoot })).rejects.toMatchObject({
      kind: 'CONFIG',
      message: `Device ${image} (${image}) is not a block device, refusing.`,
    });
    const resolved = await resolveDevice(image, { deadline: START, clock: fakeClock(), devRoot, allowRegularFile: true });
    expect(resolved).toBe(await realpath(image));
  });

  it.each(['UUID=', 'UUID=../../etc', 'FOO=bar', 'nvme1n1', 'vol-xyz'])('rejects %s as a config error', async (spec) => {
    await expect(resolveDevice(spec, { deadline: START, clock: fakeClock(), devRoot })).rejects.toMatchObject({
      kind: 'CONFIG',
    });
  });
});
