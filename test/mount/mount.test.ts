// Mount point preparation on a temp dir, and mount/umount through recording fakes: argv, busy, never -l/-f.
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRunner } from '../../src/exec/run.ts';
import { mountFilesystem, prepareMountPoint, unmountFilesystem } from '../../src/mount/mount.ts';
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

describe('prepareMountPoint', () => {
  it('creates a missing mount point with the exact mode despite the umask, and says so', async () => {
    const target = join(dir, 'a', 'data');
    const log = recordingLog();
    const umask = process.umask(0o077);
    try {
      await prepareMountPoint(target, { mode: 0o750, allowNonEmpty: false, log });
    } finally {
      process.umask(umask);
    }
    expect((await stat(target)).mode & 0o7777).toBe(0o750);
    expect(log.lines).toEqual([`Created mount point ${target}`]);
  });

  it('accepts an existing empty directory', async () => {
    await prepareMountPoint(dir, { mode: 0o700, allowNonEmpty: false });
  });

  it('refuses a directory with entries, naming the count and the way out', async () => {
    await writeFile(join(dir, 'a'), '');
    await mkdir(join(dir, 'b'));
    await expect(prepareMountPoint(dir, { mode: 0o700, allowNonEmpty: false })).rejects.toMatchObject({
      kind: 'MOUNT_REFUSED',
      message: `${dir} is not empty (2 entries): mounting would hide them; empty it or set MOUNT_OVER_NONEMPTY=yes`,
    });
  });

  it('mounts over entries when allowed, with a warning', async () => {
    await writeFile(join(dir, 'a'), '');
    const log = recordingLog();
    await prepareMountPoint(dir, { mode: 0o700, allowNonEmpty: true, log });
    expect(log.lines).toEqual([`${dir} is not empty, mounting over it anyway`]);
  });

  it('refuses a mount point that is not a directory', async () => {
    const file = join(dir, 'file');
    await writeFile(file, '');
    await expect(prepareMountPoint(file, { mode: 0o700, allowNonEmpty: true })).rejects.toMatchObject({
      kind: 'MOUNT_REFUSED',
      message: `${file} is not a directory, refusing to mount on it.`,
    });
  });
});

describe('mountFilesystem', () => {
  it('runs mount -t <fs> -o <options> <source> <target>', async () => {
    await mountFilesystem(run, { source: '/dev/mapper/data', target: '/srv/data', fsType: 'xfs', options: 'noatime' });
    await mountFilesystem(run, { source: '/dev/mapper/data', target: '/srv/data', fsType: 'ext4', options: '' });
    expect((await fakes.calls('mount')).map((c) => c.argv)).toEqual([
      ['-t', 'xfs', '-o', 'noatime', '/dev/mapper/data', '/srv/data'],
      ['-t', 'ext4', '-o', 'defaults', '/dev/mapper/data', '/srv/data'],
    ]);
  });

  it('reports mount failures with the first stderr line', async () => {
    const stderr = 'mount: /srv/data: wrong fs type, bad option, bad superblock on /dev/mapper/data.\n       dmesg(1) may have more information.\n';
    await fakes.script('mount', { exit: 32, stderr });
    const opts = { source: '/dev/mapper/data', target: '/srv/data', fsType: 'xfs', options: 'defaults' };
    await expect(mountFilesystem(run, opts)).rejects.toMatchObject({
      kind: 'SYSTEM',
      message:
        'Failed to mount /dev/mapper/data on /srv/data: mount: /srv/data: wrong fs type, bad option, bad superblock on /dev/mapper/data.',
    });
  });

  it('gives up with TIMEOUT when mount hangs', async () => {
    await fakes.script('mount', { sleepSec: 30 });
    const opts = { source: '/dev/mapper/data', target: '/srv/data', fsType: 'xfs', options: 'defaults', timeoutMs: 200 };
    await expect(mountFilesystem(run, opts)).rejects.toMatchObject({ kind: 'TIMEOUT' });
  });
});

describe('unmountFilesystem', () => {
  it('runs a plain umount <target> and reports unmounted', async () => {
    expect(await unmountFilesystem(run, '/srv/data')).toBe('unmounted');
    expect((await fakes.calls('umount')).map((c) => c.argv)).toEqual([['/srv/data']]);
  });

  it('reports busy from "target is busy" and does not retry with -l or -f', async () => {
    await fakes.script('umount', { exit: 32, stderr: 'umount: /srv/data: target is busy.\n' });
    expect(await unmountFilesystem(run, '/srv/data')).toBe('busy');
    const argv = (await fakes.calls('umount')).map((c) => c.argv);
    expect(argv).toEqual([['/srv/data']]);
    expect(argv.flat().filter((arg) => arg.startsWith('-'))).toEqual([]);
  });

  it('treats "not mounted" as already unmounted', async () => {
    await fakes.script('umount', { exit: 32, stderr: 'umount: /srv/data: not mounted.\n' });
    expect(await unmountFilesystem(run, '/srv/data')).toBe('unmounted');
  });

  it('throws SYSTEM for other failures', async () => {
    await fakes.script('umount', { exit: 1, stderr: 'umount: /srv/data: must be superuser to unmount.\n' });
    await expect(unmountFilesystem(run, '/srv/data')).rejects.toMatchObject({
      kind: 'SYSTEM',
      message: 'Failed to unmount /srv/data: umount: /srv/data: must be superuser to unmount.',
    });
  });
});
