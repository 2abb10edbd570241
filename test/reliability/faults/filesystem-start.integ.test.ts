// Fault matrix, the filesystem inside the volume: a real ext4 image behind the fake mapping, damaged the way a crash
// or a bad disk leaves it, mounted by the real mount(8). A filesystem the kernel refuses is never repaired by
// start: it says what to run and leaves the mapping open for it; one merely marked with errors mounts, with a warning.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { canRunCryptsetup } from '../../cli/luks-image.ts';
import { faultRow, type Check } from '../fault-row.ts';
import { firstLineOf, type StartScene, type Volume } from './start-scene.ts';
import { sceneFor } from './world.ts';

const TEST_TIMEOUT_MS = 60_000;
const SBIN = { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, timeout: 30_000 };
const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

/** Loop mounts need root, mkfs.ext4 and a loop device; without them the rows are skipped (and --check says so). */
function canLoopMount(): boolean {
  if (!canRunCryptsetup) return false;
  try {
    execFileSync('mkfs.ext4', ['-V'], { ...SBIN, stdio: 'ignore' });
    execFileSync('losetup', ['--find'], { ...SBIN, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A fresh 32 MiB ext4 image (mke2fs's "small" type: 1 KiB blocks, metadata checksums on). */
async function ext4Image(file: string): Promise<string> {
  await writeFile(file, '');
  await truncate(file, 32 * 1024 * 1024);
  execFileSync('mkfs.ext4', ['-q', '-F', file], { ...SBIN, stdio: 'ignore' });
  return file;
}

function dumpe2fsField(file: string, field: string): string {
  const out = execFileSync('dumpe2fs', ['-h', file], { ...SBIN, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(out)?.[1] ?? '';
}

/** Writes `bytes` at `offset` of `file`, nothing else (no checksum is fixed up: that is the damage). */
function poke(file: string, offset: number, bytes: Buffer): void {
  execFileSync('dd', [`of=${file}`, 'bs=1', `seek=${offset}`, 'conv=notrunc', 'status=none'], { ...SBIN, input: bytes });
}

const damages: Array<[string, string, (file: string) => void, RegExp]> = [
  ['group descriptors corrupt', 'EUCLEAN', (file) => {
    // A block bitmap outside its group. The descriptor table starts in the block after the superblock's: block 2 with 1 KiB blocks, else block 1.
    const blockSize = Number(dumpe2fsField(file, 'Block size'));
    poke(file, (blockSize === 1024 ? 2 : 1) * blockSize, Buffer.from([0xff, 0xff, 0xff, 0x7f]));
  }, /Structure needs cleaning/],
  ['superblock checksum wrong', 'EBADMSG', (file) => {
    poke(file, 1024 + 0x78, Buffer.from('X')); // s_volume_name, its checksum left as it was
  }, /corrupted filesystem|Bad message/],
];

/** What the real kernel has mounted at `path` (the fake mountinfo is the CLI's view; this is the host's). */
async function reallyMounted(path: string): Promise<boolean> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').some((line) => line.split(' ')[4] === path);
}

/** openOnly, and the filesystem's own bytes as they were (no fsck ran), and nothing really mounted at the mount point. */
async function leftForFsck(scene: StartScene, vol: Volume, fs: string, fsHash: string): Promise<Check> {
  const left = await scene.openOnly(vol);
  if ((await sha256(fs)) !== fsHash) left.problems.push('the filesystem\'s bytes changed (something repaired it)');
  if (await reallyMounted(vol.mountPoint)) left.problems.push(`${vol.mountPoint} is really mounted`);
  return { what: `${left.what}; filesystem bytes`, problems: left.problems };
}

async function withFilesystem(scene: StartScene, damage?: (file: string) => void) {
  const vol = await scene.addVolume('data', { LUKS_DEVICE_FS: 'ext4' });
  const fs = await ext4Image(join(scene.ws.dir, 'data-fs.img'));
  damage?.(fs);
  await scene.sys.setFilesystem('data', fs);
  return { vol, fs, fsHash: await sha256(fs) };
}

describe.skipIf(!canLoopMount())('fault matrix: the filesystem in the volume (real ext4 images, real mount(8))', { concurrent: true, timeout: TEST_TIMEOUT_MS }, () => {
  it.for(damages)('%s: 87, one line saying to run fsck, the mapping left open, nothing repaired; after fsck start mounts', async ([fault, errno, damage, mountSays], ctx) => {
    const scene = await sceneFor(ctx, 'fsck');
    const { vol, fs, fsHash } = await withFilesystem(scene, damage);
    const result = await scene.run(['start', 'data']);
    const untouched = await leftForFsck(scene, vol, fs, fsHash);
    faultRow(ctx, { area: 'filesystem', fault: `filesystem needs fsck: ${fault} (${errno})`, injectedIn: 'image', exitCode: 87, expected: 'says to run fsck on the open mapping, never repairs' },
      scene.observe(result, untouched, await scene.noSecret(result)));
    ctx.expect(result.stderr.split('\n')).toHaveLength(2);
    ctx.expect(result.stderr).toMatch(mountSays);
    ctx.expect(result.stderr).toContain(`run fsck -f /dev/mapper/data`);

    // What the line says to do, done by hand: then start mounts the mapping it left open, without a key.
    const fsck = spawnSync('e2fsck', ['-f', '-y', fs], { ...SBIN, stdio: 'ignore' });
    ctx.expect(fsck.status, 'e2fsck: 1 is "errors corrected"').toBe(1);
    const again = await scene.run(['start', 'data']);
    ctx.expect(again.code, firstLineOf(again)).toBe(0);
    ctx.expect(again.stdout).toContain('is already open, mounting it');
    ctx.expect((await scene.mountedOnly(vol)).problems).toEqual([]);
    ctx.expect(await reallyMounted(vol.mountPoint)).toBe(true);
  });

  it('filesystem marked with errors (tune2fs -E force_fsck) that still mounts: 0, mounted, a warning to run fsck', async (ctx) => {
    const scene = await sceneFor(ctx, 'fs-errors');
    const { vol, fs } = await withFilesystem(scene, (file) => execFileSync('tune2fs', ['-E', 'force_fsck', file], { ...SBIN, stdio: 'ignore' }));
    ctx.expect(dumpe2fsField(fs, 'Filesystem state')).toBe('clean with errors');
    const result = await scene.run(['start', 'data']);
    const mounted = await scene.mountedOnly(vol);
    if (!(await reallyMounted(vol.mountPoint))) mounted.problems.push(`${vol.mountPoint} is not really mounted`);
    faultRow(ctx, { area: 'filesystem', fault: 'filesystem marked with errors, still mountable', injectedIn: 'image', exitCode: 0, expected: 'mounts, warns to run fsck' },
      scene.observe(result, { ...mounted, what: `${mounted.what}; really mounted` }, await scene.noSecret(result)));
    ctx.expect(firstLineOf(result)).toMatch(/^\/dev\/mapper\/data has errors recorded \(filesystem state: clean with errors\), mounted it anyway/);
    ctx.expect(firstLineOf(result)).toContain('fsck -f /dev/mapper/data');
    // Nothing repaired it: the mark is still there for fsck.
    ctx.expect(dumpe2fsField(fs, 'Filesystem state')).toMatch(/with errors/);
  });

  it('the "left for fsck" check fails when the volume is closed, the filesystem repaired, or it is mounted', async (ctx) => {
    const scene = await sceneFor(ctx, 'fs-checks');
    const { vol, fs, fsHash } = await withFilesystem(scene, damages[0]![2]);
    await mkdir(vol.mountPoint, { recursive: true, mode: 0o700 });
    ctx.expect((await leftForFsck(scene, vol, fs, fsHash)).problems).toEqual(['data is not open']);
    await scene.sys.addMapping('data', vol.device);
    ctx.expect((await leftForFsck(scene, vol, fs, fsHash)).problems).toEqual([]);
    spawnSync('e2fsck', ['-f', '-y', fs], { ...SBIN, stdio: 'ignore' });
    execFileSync('mount', ['-o', 'loop', fs, vol.mountPoint], { ...SBIN, stdio: 'ignore' });
    try {
      ctx.expect((await leftForFsck(scene, vol, fs, fsHash)).problems).toEqual([
        `${vol.mountPoint} holds [lost+found]`, 'the filesystem\'s bytes changed (something repaired it)', `${vol.mountPoint} is really mounted`,
      ]);
    } finally {
      execFileSync('umount', [vol.mountPoint], { ...SBIN, stdio: 'ignore' });
    }
  });

  it('a clean filesystem: mounted, no warning (the check above is not a line every start prints)', async (ctx) => {
    const scene = await sceneFor(ctx, 'fs-clean');
    const { vol } = await withFilesystem(scene);
    const result = await scene.run(['start', 'data']);
    ctx.expect(result.code, firstLineOf(result)).toBe(0);
    ctx.expect((await scene.mountedOnly(vol)).problems).toEqual([]);
    ctx.expect(await reallyMounted(vol.mountPoint)).toBe(true);
    ctx.expect(result.stdout).not.toMatch(/errors recorded|fsck/);
    ctx.expect(result.stderr).toBe('');
  });
});
