// The errors mark in an ext2/3/4 superblock: read directly, or with dumpe2fs -h (here a recording fake) when the
// device cannot be read; a warning only, never a failure.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRunner } from '../../src/exec/run.ts';
import { recordedErrors } from '../../src/mount/fs-errors.ts';
import type { Runner } from '../../src/types.ts';
import { createFakePrograms, type FakePrograms } from '../exec/fake-programs.ts';

let fakes: FakePrograms;
let run: Runner;
beforeEach(async () => {
  fakes = await createFakePrograms(['dumpe2fs']);
  run = createRunner({ path: fakes.path });
});
afterEach(() => fakes.cleanup());

const header = (state: string): string => `dumpe2fs 1.47.0 (5-Feb-2023)\nFilesystem volume name:   <none>\nFilesystem state:         ${state}\nErrors behavior:          Continue\n`;

describe('recordedErrors', () => {
  it.for(['clean with errors', 'not clean with errors'])('names the state "%s", reading the superblock with -h --', async (state) => {
    await fakes.script('dumpe2fs', { stdout: header(state) });
    expect(await recordedErrors(run, '/dev/mapper/data', 'ext4')).toBe(state);
    expect((await fakes.calls('dumpe2fs')).map((c) => c.argv)).toEqual([['-h', '--', '/dev/mapper/data']]);
  });

  it('is undefined for a clean filesystem, and when dumpe2fs fails (no warning, no failure)', async () => {
    await fakes.script('dumpe2fs', { stdout: header('clean') });
    expect(await recordedErrors(run, '/dev/mapper/data', 'ext4')).toBeUndefined();
    await fakes.script('dumpe2fs', { exit: 1, stdout: header('clean with errors'), stderr: 'dumpe2fs: Bad magic number in super-block\n' });
    expect(await recordedErrors(run, '/dev/mapper/data', 'ext3')).toBeUndefined();
  });

  it('does not run dumpe2fs for another filesystem type, and survives it missing', async () => {
    expect(await recordedErrors(run, '/dev/mapper/data', 'xfs')).toBeUndefined();
    expect(await fakes.calls('dumpe2fs')).toEqual([]);
    expect(await recordedErrors(createRunner({ path: '/nonexistent' }), '/dev/mapper/data', 'ext4')).toBeUndefined();
  });

  it('waits at most 5 s for dumpe2fs, no longer than what is left of start\'s deadline, and not at all past it', async () => {
    const timeouts: number[] = [];
    const recording: Runner = async (_file, _args, options) => {
      timeouts.push(options?.timeoutMs ?? -1);
      return { exitCode: 0, stdout: header('clean'), stderr: '', timedOut: false };
    };
    await recordedErrors(recording, '/dev/mapper/data', 'ext4');
    await recordedErrors(recording, '/dev/mapper/data', 'ext4', 1_200);
    await recordedErrors(recording, '/dev/mapper/data', 'ext4', -300);
    expect(timeouts).toEqual([5_000, 1_200]);
  });
});

const SBIN = ['/usr/sbin', '/sbin'];
const tool = (name: string): string | undefined => SBIN.map((d) => join(d, name)).find((f) => existsSync(f));
const [MKFS, DEBUGFS, DUMPE2FS] = [tool('mkfs.ext4'), tool('debugfs'), tool('dumpe2fs')];

describe.skipIf(!MKFS || !DEBUGFS || !DUMPE2FS)('recordedErrors reading the superblock itself (no dumpe2fs process)', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.for([
    [1, undefined],
    [3, 'clean with errors'],
    [2, 'not clean with errors'],
  ] as const)('state %i: %s, as the real dumpe2fs -h says it', async ([state, expected]) => {
    dir = await mkdtemp(join(tmpdir(), 'luks-ssm-fs-errors-'));
    const image = join(dir, 'fs.img');
    execFileSync(MKFS!, ['-q', '-F', image, '8M'], { stdio: 'ignore' });
    execFileSync(DEBUGFS!, ['-w', '-R', `ssv state ${state}`, image], { stdio: 'ignore' });
    const real = /^Filesystem state:\s*(.+?)\s*$/m.exec(execFileSync(DUMPE2FS!, ['-h', image], { stdio: ['ignore', 'pipe', 'ignore'] }).toString())?.[1];
    expect(real).toBe(expected ?? 'clean');
    expect(await recordedErrors(run, image, 'ext4')).toBe(expected);
    expect(await fakes.calls('dumpe2fs')).toEqual([]);
  });

  it('a device that does not answer in time: undefined within the time given, and dumpe2fs is not asked to wait again', async () => {
    dir = await mkdtemp(join(tmpdir(), 'luks-ssm-fs-errors-'));
    // A FIFO with no writer: opening it for reading blocks, as a read of a hung disk does.
    const hung = join(dir, 'hung');
    execFileSync('mkfifo', [hung]);
    const started = Date.now();
    try {
      expect(await recordedErrors(run, hung, 'ext4', 200)).toBeUndefined();
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(await fakes.calls('dumpe2fs')).toEqual([]);
    } finally {
      // Let the blocked open in the thread pool finish: a writer that opens and closes at once.
      closeSync(openSync(hung, constants.O_WRONLY | constants.O_NONBLOCK));
    }
  });

  it('is undefined for a readable device without an ext superblock, without asking dumpe2fs', async () => {
    dir = await mkdtemp(join(tmpdir(), 'luks-ssm-fs-errors-'));
    const zero = join(dir, 'zero.img');
    await writeFile(zero, Buffer.alloc(64 * 1024));
    expect(await recordedErrors(run, zero, 'ext4')).toBeUndefined();
    expect(await fakes.calls('dumpe2fs')).toEqual([]);
  });
});
