// Real mount(8)/umount(8) on a loop-mounted ext4 image: mounted, busy while a process sits in it, then unmounted.
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunner, DEFAULT_EXEC_PATH } from '../../src/exec/run.ts';
import { findHolders } from '../../src/mount/holders.ts';
import { mountFilesystem, unmountFilesystem } from '../../src/mount/mount.ts';
import { openMountPoint } from '../../src/mount/mount-point.ts';
import { findMountAt } from '../../src/mount/mountinfo.ts';
import { UnlockError } from '../../src/errors.ts';

const run = createRunner();
let dir: string;
let image: string;
let target: string;

/** Root, mkfs.ext4 and loop devices are needed; without them the scenario is skipped, not failed. */
function canLoopMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('mkfs.ext4', ['-V'], { stdio: 'ignore', env: { PATH: DEFAULT_EXEC_PATH }, timeout: 10_000 });
    execFileSync('losetup', ['--find'], { stdio: 'ignore', env: { PATH: DEFAULT_EXEC_PATH }, timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** The test image mounted at `target` the way start does: onto the checked mount point's descriptor. */
async function mountImage(options: string): Promise<void> {
  const point = openMountPoint(target, { mode: 0o700, allowNonEmpty: true });
  try {
    await mountFilesystem(run, { source: image, point, fsType: 'ext4', options });
  } finally {
    point.close();
  }
}

describe.skipIf(!canLoopMount())('mount and umount on a loop-mounted image (root)', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'luks-ssm-mount-integ-'));
    image = join(dir, 'fs.img');
    target = join(dir, 'mnt', 'data');
    await writeFile(image, '');
    await truncate(image, 32 * 1024 * 1024);
    execFileSync('mkfs.ext4', ['-q', '-F', image], { env: { PATH: DEFAULT_EXEC_PATH }, timeout: 30_000 });
  });
  afterAll(async () => {
    if (await findMountAt(target)) await run('umount', [target], { timeoutMs: 10_000 });
    await rm(dir, { recursive: true, force: true });
  });

  it('mounts, refuses to unmount while busy (naming the holder), then unmounts', async () => {
    await mountImage('loop,noatime');
    const mounted = await findMountAt(target);
    expect(mounted).toMatchObject({ fsType: 'ext4', target });
    expect(mounted!.options.split(',')).toContain('noatime');

    const child = spawn('sleep', ['30'], { cwd: target, stdio: 'ignore' });
    try {
      await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
      expect(await unmountFilesystem(run, target)).toBe('busy');
      expect(await findMountAt(target)).toBeDefined();
      expect((await findHolders(target)).holders).toContainEqual({ pid: child.pid, command: 'sleep (sleep 30)' });
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));

    expect(await unmountFilesystem(run, target)).toBe('unmounted');
    expect(await findMountAt(target)).toBeUndefined();
    expect(await unmountFilesystem(run, target)).toBe('unmounted');
  });

  it('with a mount id, unmounts only that mount: a look-alike put at its path since is left mounted', async () => {
    await mountImage('loop');
    const inspected = (await findMountAt(target))!;
    // Between stop's inspection and its umount, a writer of a directory above moves the volume's mount away with
    // its parent and mounts something of its own at the same path.
    const parent = join(dir, 'mnt');
    const moved = join(dir, 'mnt-moved');
    await rename(parent, moved);
    await mkdir(target, { recursive: true });
    await run('mount', ['-t', 'tmpfs', 'look-alike', target], { timeoutMs: 10_000 });
    try {
      const lookAlike = (await findMountAt(target))!;
      expect(lookAlike.source).toBe('look-alike');

      const refused = await unmountFilesystem(run, target, { mountId: inspected.mountId }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(UnlockError);
      expect((refused as UnlockError).message).toBe(
        `Failed to unmount ${target}: the mount there changed since luks-ssm looked (mount id ${inspected.mountId}, now ${lookAlike.mountId}); left it alone`,
      );
      expect(await findMountAt(target)).toMatchObject({ mountId: lookAlike.mountId, source: 'look-alike' });
      expect(await unmountFilesystem(run, target, { mountId: lookAlike.mountId })).toBe('unmounted');
      expect(await findMountAt(target)).toBeUndefined();
    } finally {
      await run('umount', [target], { timeoutMs: 10_000 });
      await run('umount', [join(moved, 'data')], { timeoutMs: 10_000 });
    }
  });

  it('undoes its mount when something was mounted on the checked point while mount(8) ran (under it: review 14)', async () => {
    const point = openMountPoint(target, { mode: 0o700, allowNonEmpty: true });
    try {
      // The owner of the point mounts a filesystem of their own there after the check (a FUSE in the attack).
      await run('mount', ['-t', 'tmpfs', 'stacked', target], { timeoutMs: 10_000 });
      const stacked = (await findMountAt(target))!;
      await expect(mountFilesystem(run, { source: image, point, fsType: 'ext4', options: 'loop' })).rejects.toMatchObject({
        kind: 'MOUNT_REFUSED',
        message: `something was mounted on ${target} while mounting, under the new mount; unmounted it again, refusing`,
      });
      expect(await findMountAt(target)).toMatchObject({ mountId: stacked.mountId, source: 'stacked' });
    } finally {
      point.close();
      await run('umount', [target], { timeoutMs: 10_000 });
    }
    expect(await findMountAt(target)).toBeUndefined();
  });

  it('with a mount id, a mount already gone (an admin unmounted it since) counts as unmounted', async () => {
    await mountImage('loop');
    const inspected = (await findMountAt(target))!;
    await run('umount', [target], { timeoutMs: 10_000 });
    expect(await unmountFilesystem(run, target, { mountId: inspected.mountId })).toBe('unmounted');
  });
});
