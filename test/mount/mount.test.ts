// Mount point preparation on a temp dir, and mount/umount through recording fakes: argv, busy, never -l/-f.
import { chmod, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRunner } from '../../src/exec/run.ts';
import { mountFilesystem, unmountFilesystem } from '../../src/mount/mount.ts';
import { openMountPoint } from '../../src/mount/mount-point.ts';
import type { Logger, Runner } from '../../src/types.ts';
import { createFakePrograms, type FakePrograms } from '../exec/fake-programs.ts';

let dir: string;
let fakes: FakePrograms;
let run: Runner;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'luks-ssm-mount-'));
  fakes = await createFakePrograms(['mount', 'umount']);
  run = createRunner({ path: fakes.path });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  await fakes.cleanup();
});

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const record = (a: object | string, b?: string): void => {
    lines.push(typeof a === 'string' ? a : (b ?? ''));
  };
  return { lines, info: record, warn: record, error: record, debug: record };
}

describe('openMountPoint', () => {
  it('creates a missing mount point with the exact mode despite the umask, and says so', async () => {
    const target = join(dir, 'a', 'data');
    const log = recordingLog();
    const umask = process.umask(0o077);
    try {
      openMountPoint(target, { mode: 0o750, allowNonEmpty: false, log }).close();
    } finally {
      process.umask(umask);
    }
    expect((await stat(target)).mode & 0o7777).toBe(0o750);
    expect((await stat(join(dir, 'a'))).mode & 0o7777).toBe(0o755);
    expect(log.lines).toEqual([`Created mount point ${target}`]);
  });

  it('accepts an existing empty directory, leaving its mode alone', async () => {
    await chmod(dir, 0o711);
    openMountPoint(dir, { mode: 0o700, allowNonEmpty: false }).close();
    expect((await stat(dir)).mode & 0o7777).toBe(0o711);
  });

  it('refuses a directory with entries, naming the count and the way out', async () => {
    await writeFile(join(dir, 'a'), '');
    await mkdir(join(dir, 'b'));
    expect(() => openMountPoint(dir, { mode: 0o700, allowNonEmpty: false })).toThrow(
      expect.objectContaining({
        kind: 'MOUNT_REFUSED',
        message: `${dir} is not empty (2 entries): mounting would hide them; empty it or set MOUNT_OVER_NONEMPTY=yes`,
      }),
    );
  });

  it('mounts over entries when allowed, with a warning', async () => {
    await writeFile(join(dir, 'a'), '');
    const log = recordingLog();
    openMountPoint(dir, { mode: 0o700, allowNonEmpty: true, log }).close();
    expect(log.lines).toEqual([`${dir} is not empty, mounting over it anyway`]);
  });

  it('refuses a mount point that is not a directory', async () => {
    const file = join(dir, 'file');
    await writeFile(file, '');
    expect(() => openMountPoint(file, { mode: 0o700, allowNonEmpty: true })).toThrow(
      expect.objectContaining({ kind: 'MOUNT_REFUSED', message: `${file} is not a directory, refusing to mount on it.` }),
    );
  });

  it('refuses a symlink as the mount point or on the way to it, naming it, and creates nothing behind it', async () => {
    await mkdir(join(dir, 'real'));
    await symlink(join(dir, 'real'), join(dir, 'link'));
    expect(() => openMountPoint(join(dir, 'link'), { mode: 0o700, allowNonEmpty: true })).toThrow(
      expect.objectContaining({ kind: 'MOUNT_REFUSED', message: `${join(dir, 'link')} is a symlink, refusing to follow it` }),
    );
    expect(() => openMountPoint(join(dir, 'link', 'data'), { mode: 0o700, allowNonEmpty: true })).toThrow(
      expect.objectContaining({ message: `${join(dir, 'link')} (in ${join(dir, 'link', 'data')}) is a symlink, refusing to follow it` }),
    );
    expect(await readdir(join(dir, 'real'))).toEqual([]);
  });
});

describe('mountFilesystem', () => {
  it('mounts onto the checked directory (fd 3), options ended by --, and undoes a mount the path does not reach', async () => {
    const point = openMountPoint(join(dir, 'data'), { mode: 0o700, allowNonEmpty: false });
    try {
      // The fake mount mounts nothing, so the configured path never reaches a new mount: undone, refused.
      const opts = { source: '/dev/mapper/data', point, fsType: 'xfs', options: '' };
      await expect(mountFilesystem(run, opts)).rejects.toMatchObject({ kind: 'MOUNT_REFUSED' });
    } finally {
      point.close();
    }
    expect((await fakes.calls('mount')).map((c) => c.argv)).toEqual([
      ['--no-canonicalize', '-t', 'xfs', '-o', 'defaults', '--', '/dev/mapper/data', '/proc/self/fd/3/.'],
    ]);
    expect((await fakes.calls('umount')).map((c) => c.argv)).toEqual([['--no-canonicalize', '--', '/proc/self/fd/3/.']]);
  });

  it('undoes the mount when the walk to the path refuses afterwards (a user FUSE mounted on the way meanwhile, review 13)', async () => {
    const mountinfo = join(dir, 'mountinfo');
    await writeFile(mountinfo, '');
    // The user's FUSE (user_id=1000) appears on the parent while mount(8) runs.
    const fuse = `48 26 0:45 / ${dir} rw,relatime shared:1 - fuse.evil evil rw,user_id=1000,group_id=1000,allow_other\n`;
    const racing: Runner = async (file, args, options) => {
      if (file === 'mount') await writeFile(mountinfo, fuse);
      return run(file, args, options);
    };
    const point = openMountPoint(join(dir, 'data'), { mode: 0o700, allowNonEmpty: false });
    try {
      const opts = { source: '/dev/mapper/data', point, fsType: 'ext4', options: '', mountinfoPath: mountinfo };
      await expect(mountFilesystem(racing, opts)).rejects.toMatchObject({
        kind: 'MOUNT_REFUSED',
        message: expect.stringMatching(new RegExp(`^the path to ${point.path} changed while mounting \\(${dir} .*FUSE filesystem served by uid 1000.*\\); unmounted it again, refusing$`)),
      });
    } finally {
      point.close();
    }
    expect((await fakes.calls('umount')).map((c) => c.argv)).toEqual([['--no-canonicalize', '--', '/proc/self/fd/3/.']]);
  });

  it('reports mount failures with the first stderr line, naming the configured path', async () => {
    const stderr = 'mount: /proc/self/fd/3/.: wrong fs type, bad option, bad superblock on /dev/mapper/data.\n       dmesg(1) may have more information.\n';
    await fakes.script('mount', { exit: 32, stderr });
    const point = openMountPoint(join(dir, 'data'), { mode: 0o700, allowNonEmpty: false });
    try {
      await expect(mountFilesystem(run, { source: '/dev/mapper/data', point, fsType: 'xfs', options: 'defaults' })).rejects.toMatchObject({
        kind: 'SYSTEM',
        message: `Failed to mount /dev/mapper/data on ${point.path}: mount: ${point.path}: wrong fs type, bad option, bad superblock on /dev/mapper/data.`,
      });
    } finally {
      point.close();
    }
  });

  // util-linux 2.38 (Debian 12) words EUCLEAN and EBADMSG so (seen on a real damaged ext4 image); older ones print %m.
  it.for([
    'mount: /proc/self/fd/3/.: mount(2) system call failed: Structure needs cleaning.',
    'mount: /proc/self/fd/3/.: cannot mount; probably corrupted filesystem on /dev/mapper/data.',
    'mount: /proc/self/fd/3/.: mount(2) system call failed: Bad message.',
  ])('a filesystem the kernel finds damaged is NEEDS_FSCK, saying what to run: %s', async (line) => {
    await fakes.script('mount', { exit: 32, stderr: `${line}\n       dmesg(1) may have more information after failed mount system call.\n` });
    const point = openMountPoint(join(dir, 'data'), { mode: 0o700, allowNonEmpty: false });
    try {
      await expect(mountFilesystem(run, { source: '/dev/mapper/data', point, fsType: 'ext4', options: 'defaults' })).rejects.toMatchObject({
        kind: 'NEEDS_FSCK',
        message: `Failed to mount /dev/mapper/data on ${point.path}: the kernel found the filesystem damaged (${line.replace('/proc/self/fd/3/.', point.path)}), refusing to repair it`,
        hint: '/dev/mapper/data is left open: run fsck -f /dev/mapper/data, then start again',
      });
    } finally {
      point.close();
    }
  });

  it('gives up with TIMEOUT when mount hangs', async () => {
    await fakes.script('mount', { sleepSec: 30 });
    const point = openMountPoint(join(dir, 'data'), { mode: 0o700, allowNonEmpty: false });
    try {
      const opts = { source: '/dev/mapper/data', point, fsType: 'xfs', options: 'defaults', timeoutMs: 200 };
      await expect(mountFilesystem(run, opts)).rejects.toMatchObject({ kind: 'TIMEOUT' });
    } finally {
      point.close();
    }
  });
});

describe('unmountFilesystem', () => {
  it('runs a plain umount of the name in its parent descriptor (fd 3) and reports unmounted', async () => {
    expect(await unmountFilesystem(run, '/srv/data')).toBe('unmounted');
    expect((await fakes.calls('umount')).map((c) => c.argv)).toEqual([['--no-canonicalize', '--', '/proc/self/fd/3/data']]);
  });

  it('refuses to look a target up through a symlinked parent', async () => {
    await mkdir(join(dir, 'real'));
    await symlink(join(dir, 'real'), join(dir, 'link'));
    await expect(unmountFilesystem(run, join(dir, 'link', 'data'))).rejects.toMatchObject({
      kind: 'SYSTEM',
      message: `Failed to unmount ${join(dir, 'link', 'data')}: ${join(dir, 'link')} is a symlink, refusing to follow it`,
    });
    expect(await fakes.calls('umount')).toEqual([]);
  });

  it('refuses a target that is itself a symlink now (umount(2) would follow it to another mount)', async () => {
    await symlink('/boot', join(dir, 'data'));
    await expect(unmountFilesystem(run, join(dir, 'data'))).rejects.toMatchObject({
      kind: 'SYSTEM',
      message: `Failed to unmount ${join(dir, 'data')}: ${join(dir, 'data')} is a symlink, refusing to follow it`,
    });
    expect(await fakes.calls('umount')).toEqual([]);
  });

  it('reports busy from "target is busy" and does not retry with -l or -f', async () => {
    await fakes.script('umount', { exit: 32, stderr: 'umount: /srv/data: target is busy.\n' });
    expect(await unmountFilesystem(run, '/srv/data')).toBe('busy');
    const argv = (await fakes.calls('umount')).map((c) => c.argv);
    expect(argv).toEqual([['--no-canonicalize', '--', '/proc/self/fd/3/data']]);
    expect(argv.flat().filter((arg) => /^-[lf]|^--(lazy|force)/.test(arg))).toEqual([]);
  });

  it('treats "not mounted" as already unmounted', async () => {
    await fakes.script('umount', { exit: 32, stderr: 'umount: /srv/data: not mounted.\n' });
    expect(await unmountFilesystem(run, '/srv/data')).toBe('unmounted');
  });

  it('throws SYSTEM for other failures', async () => {
    await fakes.script('umount', { exit: 1, stderr: 'umount: /proc/self/fd/3/data: must be superuser to unmount.\n' });
    await expect(unmountFilesystem(run, '/srv/data')).rejects.toMatchObject({
      kind: 'SYSTEM',
      message: 'Failed to unmount /srv/data: umount: /srv/data: must be superuser to unmount.',
    });
  });
});
