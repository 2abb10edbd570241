// The run lock with the real flock(1): one holder at a time, waiters time out with LOCKED, a crash frees it.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRunner } from '../../src/exec/run.ts';
import type { Runner } from '../../src/types.ts';
import { acquireRunLock, acquireRunLocks, volumeLockNames } from '../../src/volume/run-lock.ts';
import { NOBODY, openDir, removeDir, stageBundle, stageNode } from '../support/other-user.ts';

let base: string;
let dir: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'luks-ssm-runlock-'));
  dir = join(base, 'run', 'luks-ssm');
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

/** Whether another process could take the lock right now (flock -n exits 1 when it is held). */
function freeForOthers(name = 'lock'): boolean {
  try {
    execFileSync('flock', ['--nonblock', join(dir, name), 'true'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

describe('acquireRunLock', () => {
  it('creates the lock dir 0700 and holds the lock after flock(1) has exited, until release', async () => {
    const lock = await acquireRunLock({ dir, timeoutMs: 1000 });
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(freeForOthers()).toBe(false);
    await lock.release();
    expect(freeForOthers()).toBe(true);
    await lock.release();
  });

  it('does not leak the lock to other children (cryptsetup, mount) started while it is held', async () => {
    const lock = await acquireRunLock({ dir, timeoutMs: 1000 });
    const child = createRunner()('sleep', ['3'], { timeoutMs: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await lock.release();
    expect(freeForOthers()).toBe(true);
    await child;
  });

  it('makes a second run wait until the first releases', async () => {
    const first = await acquireRunLock({ dir, timeoutMs: 1000 });
    const started = Date.now();
    const second = acquireRunLock({ dir, timeoutMs: 10_000 });
    setTimeout(() => void first.release(), 500);
    const lock = await second;
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(freeForOthers()).toBe(false);
    await lock.release();
  });

  it('gives up with LOCKED when the lock is held past the timeout', async () => {
    const first = await acquireRunLock({ dir, timeoutMs: 1000 });
    try {
      const started = Date.now();
      await expect(acquireRunLock({ dir, timeoutMs: 300 })).rejects.toMatchObject({
        kind: 'LOCKED',
        message: `Another luks-ssm run holds ${join(dir, 'lock')}; gave up after 0.3 s`,
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    } finally {
      await first.release();
    }
  });

  it('is freed by the kernel when the holding process is killed', async () => {
    const script = [
      `import { acquireRunLock } from ${JSON.stringify(new URL('../../src/volume/run-lock.ts', import.meta.url).pathname)};`,
      `await acquireRunLock({ dir: ${JSON.stringify(dir)}, timeoutMs: 5000 });`,
      `console.log('locked');`,
      `setInterval(() => {}, 1000);`,
    ].join('\n');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('locked') && resolve());
        child.once('exit', (code) => reject(new Error(`lock holder exited early (${code})`)));
        setTimeout(() => reject(new Error('lock holder did not report in time')), 15_000);
      });
      expect(freeForOthers()).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));
    const lock = await acquireRunLock({ dir, timeoutMs: 2000 });
    await lock.release();
  });

  it('says to install util-linux when flock is missing', async () => {
    const run = createRunner({ path: base });
    await expect(acquireRunLock({ dir, timeoutMs: 100, run })).rejects.toMatchObject({
      kind: 'SYSTEM',
      message: 'Failed to run flock: not found (install util-linux)',
    });
  });
});

describe('acquireRunLocks (a volume run)', () => {
  const config = { volume: 'data', mapName: 'data', mountPoint: '/srv/data' };

  it('holds the volume locks, not the host lock, until release', async () => {
    const names = volumeLockNames(config);
    const lock = await acquireRunLocks({ dir, names, deadline: Date.now() + 1000, now: Date.now });
    expect(names.map((n) => freeForOthers(n))).toEqual(names.map(() => false));
    expect(freeForOthers('lock')).toBe(true);
    await lock.release();
    expect(names.map((n) => freeForOthers(n))).toEqual(names.map(() => true));
  });

  /** The real runner, recording each program and its arguments. */
  function recordingRunner(): { run: Runner; calls: string[][] } {
    const calls: string[][] = [];
    const real = createRunner();
    return { calls, run: (file, args, options) => (calls.push([file, ...args]), real(file, args, options)) };
  }

  it('takes all of them with one process when nobody holds any (one spawn, not one a lock)', async () => {
    const names = volumeLockNames(config);
    const { run, calls } = recordingRunner();
    const lock = await acquireRunLocks({ dir, names, deadline: Date.now() + 1000, now: Date.now, run });
    expect(calls).toEqual([['sh', '-c', 'flock --exclusive --nonblock 3 && flock --exclusive --nonblock 4 && flock --exclusive --nonblock 5']]);
    expect(lock.waited).toBeUndefined();
    expect(names.map((n) => freeForOthers(n))).toEqual([false, false, false]);
    await lock.release();
    expect(names.map((n) => freeForOthers(n))).toEqual([true, true, true]);
  });

  it('one held elsewhere: lets go of all it took at once, then waits in order and holds them all once it is free', async () => {
    const names = volumeLockNames(config);
    const holder = await acquireRunLock({ dir, name: names[1]!, timeoutMs: 1000 });
    const { run, calls } = recordingRunner();
    const freed = new Promise((r) => setTimeout(r, 300)).then(() => holder.release());
    const lock = await acquireRunLocks({ dir, names, deadline: Date.now() + 5000, now: Date.now, run });
    await freed;
    expect(calls.map((c) => c[0])).toEqual(['sh', 'flock', 'flock', 'flock']);
    expect(lock.waited).toBe(true);
    expect(names.map((n) => freeForOthers(n))).toEqual([false, false, false]);
    await lock.release();
    expect(names.map((n) => freeForOthers(n))).toEqual([true, true, true]);
  });

  it('gives the one-process attempt no more than the time left before the deadline', async () => {
    const { run, calls } = recordingRunner();
    const given: Array<number | undefined> = [];
    const timed: Runner = (file, args, options) => (given.push(options?.timeoutMs), run(file, args, options));
    const lock = await acquireRunLocks({ dir, names: volumeLockNames(config), deadline: Date.now() + 700, now: Date.now, run: timed });
    await lock.release();
    expect(calls[0]?.[0]).toBe('sh');
    expect(given[0]).toBeLessThanOrEqual(700);
  });

  it('takes the device lock (alsoTry) in the same process, released on its own', async () => {
    const names = volumeLockNames(config);
    const { run, calls } = recordingRunner();
    const lock = await acquireRunLocks({ dir, names, alsoTry: 'lock.device.240:1', deadline: Date.now() + 1000, now: Date.now, run });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.[2]).toContain('flock --exclusive --nonblock 6');
    expect(freeForOthers('lock.device.240:1')).toBe(false);
    await lock.also?.release();
    expect(freeForOthers('lock.device.240:1')).toBe(true);
    expect(names.map((n) => freeForOthers(n))).toEqual([false, false, false]);
    await lock.release();
    expect(names.map((n) => freeForOthers(n))).toEqual([true, true, true]);
  });

  it('any lock held elsewhere: the volume locks by the ordered wait, the device lock not at all (its turn comes later)', async () => {
    const names = volumeLockNames(config);
    const holder = await acquireRunLock({ dir, name: 'lock.device.240:1', timeoutMs: 1000 });
    try {
      const lock = await acquireRunLocks({ dir, names, alsoTry: 'lock.device.240:1', deadline: Date.now() + 1000, now: Date.now });
      expect(lock.also).toBeUndefined();
      expect(names.map((n) => freeForOthers(n))).toEqual([false, false, false]);
      await lock.release();
    } finally {
      await holder.release();
    }
  });

  it('the first lock held elsewhere: the one-process attempt fails although the others were free, and holds none of them', async () => {
    const names = volumeLockNames(config);
    const holder = await acquireRunLock({ dir, name: names[0]!, timeoutMs: 1000 });
    try {
      const { run, calls } = recordingRunner();
      await expect(acquireRunLocks({ dir, names, deadline: Date.now() + 300, now: Date.now, run })).rejects.toMatchObject({
        kind: 'LOCKED',
        message: expect.stringContaining(join(dir, names[0]!)),
      });
      // The one process, then the ordered wait on the first lock only.
      expect(calls.map((c) => c[0])).toEqual(['sh', 'flock']);
      expect(names.slice(1).map((n) => freeForOthers(n))).toEqual([true, true]);
    } finally {
      await holder.release();
    }
  });

  it('gives up with LOCKED naming the held file, and lets go of those it had taken', async () => {
    const names = volumeLockNames(config);
    const last = names.at(-1)!;
    const holder = await acquireRunLock({ dir, name: last, timeoutMs: 1000 });
    try {
      await expect(acquireRunLocks({ dir, names, deadline: Date.now() + 300, now: Date.now })).rejects.toMatchObject({
        kind: 'LOCKED',
        message: expect.stringContaining(join(dir, last)),
      });
      expect(names.slice(0, -1).map((n) => freeForOthers(n))).toEqual(names.slice(0, -1).map(() => true));
    } finally {
      await holder.release();
    }
  });
});

describe('openLockFile as a user other than root', () => {
  it('is PERMISSION (exit 4) naming the lock file, not an unexpected error (review 16: check without sudo)', async () => {
    // nobody runs a bundle of run-lock.ts with a Node of its own in a 0755 dir: the checkout may be unreachable (0700).
    const staged = await openDir('luks-ssm-nobody-');
    try {
      const [node, bundle] = await Promise.all([stageNode(staged), stageBundle(staged, 'src/volume/run-lock.ts')]);
      const runDir = join(staged, 'run', 'luks-ssm');
      const script = [
        `const { openLockFile } = require(${JSON.stringify(bundle)});`,
        `openLockFile(${JSON.stringify(runDir)}, 'lock').then(() => console.log('opened'),`,
        '  (e) => console.log(JSON.stringify({ kind: e.kind, exitCode: e.exitCode, message: e.message, hint: e.hint })));',
      ].join('\n');
      const child = spawnSync(node, ['-e', script], { uid: NOBODY, gid: NOBODY, cwd: staged, encoding: 'utf8', timeout: 20_000 });
      expect(child.stderr).toBe('');
      expect(JSON.parse(child.stdout)).toEqual({ kind: 'PERMISSION', exitCode: 4, message: `${join(runDir, 'lock')}: permission denied`, hint: 'run luks-ssm as root' });
    } finally {
      await removeDir(staged);
    }
  });
});
