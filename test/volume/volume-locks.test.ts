// Several volumes in one AWS outage: each run holds only its volume's locks; the host lock covers only cryptsetup open.
// Two configs naming one disk by different paths: the device lock makes their runs take turns on it.
// Real flock(1) on a shared lock dir, as two luks-ssm processes on one host would use /run/luks-ssm.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UnlockError } from '../../src/errors.ts';
import type { RetryHooks } from '../../src/aws/retry.ts';
import { Secret } from '../../src/secret/secret.ts';
import type { FetchedKey, KeySource } from '../../src/secret/source.ts';
import type { AskOptions, AskResult } from '../../src/systemd/ask-password.ts';
import type { Runner } from '../../src/types.ts';
import { acquireRunLock, acquireRunLocks, volumeLockNames } from '../../src/volume/run-lock.ts';
import { withLock } from '../../src/lifecycle/steps.ts';
import { checkVolume } from '../../src/volume/check.ts';
import { acquireDeviceLock, deviceLockNameOf, type EarlyDeviceLock } from '../../src/volume/device-lock.ts';
import { startVolume } from '../../src/volume/start.ts';
import { stopVolume } from '../../src/volume/stop.ts';
import { realClock } from '../aws/real-clock.ts';
import { createFakeSystem, fakeConfig, fakeDeps, keysSource, type FakeSystem } from '../support/fake-system.ts';

const KEY_A = Buffer.from('typed-key-of-volume-a');
const KEY_B = Buffer.from('typed-key-of-volume-b');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** AWS unreachable for good: fails every 20 ms through onRetry, as callWithRetry does, until aborted or the deadline. */
const awsDown: KeySource = {
  description: 'SSM parameter /test/key',
  async *keys(deadline: number, hooks?: RetryHooks): AsyncGenerator<FetchedKey> {
    for (let attempt = 1; ; attempt += 1) {
      if (hooks?.signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      if (Date.now() >= deadline) throw new UnlockError('AWS_UNAVAILABLE', 'Failed to get SSM parameter /test/key: connection refused, giving up at the deadline');
      hooks?.onRetry?.({ what: 'get SSM parameter /test/key', attempt, reason: 'connection refused', retryInMs: 20 });
      await sleep(20);
    }
  },
};

/** The password agents: questions wait until the test answers them (or they are withdrawn or time out). */
function agent() {
  const questions: Array<{ opts: AskOptions; answer(key: Buffer): void }> = [];
  const waiters: Array<() => void> = [];
  const ask = (opts: AskOptions): Promise<AskResult> => new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ none: 'timed out' }), opts.timeoutSec * 1000);
    opts.signal?.addEventListener('abort', () => { clearTimeout(timer); resolve({ none: 'withdrawn' }); }, { once: true });
    questions.push({ opts, answer: (key) => { clearTimeout(timer); resolve({ key: Secret.copyOf(key) }); } });
    for (const w of waiters.splice(0)) w();
  });
  /** Resolves once `n` questions have been asked in all. */
  const asked = (n: number): Promise<void> => questions.length >= n ? Promise.resolve() : new Promise((r) => waiters.push(() => void asked(n).then(r)));
  return { ask, questions, asked };
}

/** Every cryptsetup open (not --test-passphrase) takes 200 ms here, and the most that ran at once is counted. */
function slowOpens() {
  const seen = { running: 0, most: 0, opens: 0 };
  const wrap = (run: Runner): Runner => async (file, args, options) => {
    if (file !== 'cryptsetup' || args[0] !== 'open' || args.includes('--test-passphrase')) return run(file, args, options);
    seen.opens += 1;
    seen.running += 1;
    seen.most = Math.max(seen.most, seen.running);
    try {
      await sleep(200);
      return await run(file, args, options);
    } finally {
      seen.running -= 1;
    }
  };
  return { seen, wrap };
}

/** One fake volume with its own device, mapping and mount point, locking in the shared `lockDir` with real flock. */
function volume(name: string, key: Buffer, lockDir: string, opts: { source?: KeySource; ask?: ReturnType<typeof agent>['ask']; wrap?: (run: Runner) => Runner; timeoutSec?: number }) {
  const sys: FakeSystem = createFakeSystem(key);
  cleanups.push(() => sys.cleanup());
  const run = opts.wrap ? opts.wrap(sys.run) : sys.run;
  const { deps, log } = fakeDeps(sys, opts.source ?? awsDown, {
    run,
    clock: realClock,
    ...(opts.ask ? { askPassword: opts.ask } : {}),
    ...realLocks(lockDir, run),
  });
  const config = fakeConfig(sys, { volume: name, mapName: name, timeoutSec: opts.timeoutSec ?? 8 });
  return { sys, deps, log, config };
}

/**
 * The host, volume and device locks as the CLI wires them, with real flock(1) in `dir`. The fake programs run in this
 * process, so sh cannot exec them under the host lock: that lock is taken around the call instead, on the same file.
 */
function realLocks(dir: string, run: Runner) {
  const acquireLock = (deadline: number) => acquireRunLock({ dir, timeoutMs: Math.max(1, deadline - Date.now()) });
  return {
    acquireLock,
    runUnderHostLock: (deadline: number): Runner => async (file, args, options) => {
      const lock = await acquireLock(deadline);
      try {
        return await run(file, args, options);
      } finally {
        await lock.release();
      }
    },
    // As src/cli/wiring.ts: a device there before any wait has its lock tried with the volume locks (every boot's path).
    acquireVolumeLock: async (config: { volume: string; mapName: string; mountPoint: string }, deadline: number, device?: string) => {
      const deviceLock = device === undefined ? undefined : await deviceLockNameOf(device);
      const locks = await acquireRunLocks({ dir, names: volumeLockNames(config), alsoTry: deviceLock, deadline, now: Date.now });
      return { release: locks.release, ...(locks.also && deviceLock ? { device: { name: deviceLock, lock: locks.also } } : {}) };
    },
    acquireDeviceLock: (device: string, holder: string, deadline: number, early?: EarlyDeviceLock) => acquireDeviceLock({ dir, device, holder, deadline, now: Date.now, early }),
  };
}

const BY_ID = '/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0';

/**
 * One fake disk (/dev/disk0 under a temp dev root, and a by-id symlink to it) that volume configs name by either
 * path, each config with its own mapping and mount point. Every call is logged as "<volume>: <program> <args>".
 */
function oneDisk(lockDir: string) {
  const sys: FakeSystem = createFakeSystem(KEY_A);
  cleanups.push(() => sys.cleanup());
  const devRoot = join(sys.dir, 'dev');
  mkdirSync(join(devRoot, 'disk', 'by-id'), { recursive: true });
  symlinkSync('../../disk0', join(devRoot, BY_ID.slice('/dev/'.length)));
  const events: string[] = [];
  const config = (name: string, device: string, opts: { source?: KeySource; ask?: ReturnType<typeof agent>['ask']; timeoutSec?: number; slowUmount?: boolean; statusLines?: string[] }) => {
    const run: Runner = async (file, args, options) => {
      events.push(`${name}: ${file} ${args.join(' ')}`);
      if (opts.slowUmount && file === 'umount') await sleep(500);
      return sys.run(file, args, options);
    };
    const { deps } = fakeDeps(sys, opts.source ?? awsDown, {
      run, clock: realClock, devRoot, ...(opts.ask ? { askPassword: opts.ask } : {}), ...realLocks(lockDir, run),
      ...(opts.statusLines ? { statusLine: { set: (t: string) => void opts.statusLines!.push(t), clear: async () => void opts.statusLines!.push('') } } : {}),
    });
    return { deps, config: fakeConfig(sys, { volume: name, mapName: name, device, mountPoint: join(sys.dir, 'srv', name), timeoutSec: opts.timeoutSec ?? 8 }) };
  };
  /** What `volume` ran on the disk itself (cryptsetup isLuks/open/luksDump name it), as indexes into `events`. */
  const onDisk = (volume: string) => events.flatMap((e, i) => (e.startsWith(`${volume}: `) && e.includes(sys.device) ? [i] : []));
  return { sys, events, config, onDisk };
}

function lockDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'luks-ssm-locks-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('several volumes in one AWS outage', () => {
  it('asks for both volumes at once, opens each with its typed key, and never runs two cryptsetup opens at once', async () => {
    const dir = lockDir();
    const person = agent();
    const opens = slowOpens();
    const a = volume('vola', KEY_A, dir, { ask: person.ask, wrap: opens.wrap });
    const b = volume('volb', KEY_B, dir, { ask: person.ask, wrap: opens.wrap });
    const startA = startVolume(a.deps, a.config);
    await sleep(300);
    const startB = startVolume(b.deps, b.config);
    // The person answers only once both questions are up (before the fix B's never came while A's was open).
    const both = await Promise.race([person.asked(2).then(() => true), Promise.allSettled([startA, startB]).then(() => false)]);
    expect(both, 'both volumes were asked while AWS was down').toBe(true);
    for (const q of person.questions) q.answer(q.opts.id.endsWith('vola') ? KEY_A : KEY_B);
    expect(await startA).toBe('unlocked');
    expect(await startB).toBe('unlocked');
    expect(a.sys.mappings.get('vola')).toBe(a.sys.device);
    expect(b.sys.mappings.get('volb')).toBe(b.sys.device);
    expect(opens.seen.opens).toBe(2);
    expect(opens.seen.most, 'the host lock keeps cryptsetup opens one at a time').toBe(1);
  });

  it('two starts of the same volume still exclude each other: the second finds it mounted and asks nobody', async () => {
    const dir = lockDir();
    const person = agent();
    const a = volume('vola', KEY_A, dir, { ask: person.ask });
    const first = startVolume(a.deps, a.config);
    await person.asked(1);
    const second = startVolume(a.deps, a.config);
    await sleep(500);
    expect(person.questions).toHaveLength(1);
    person.questions[0]!.answer(KEY_A);
    expect(await first).toBe('unlocked');
    expect(await second).toBe('already-mounted');
    expect(person.questions).toHaveLength(1);
    expect(a.sys.calls.filter((c) => c.file === 'cryptsetup' && c.args[0] === 'open')).toHaveLength(1);
  });

  it('stop of volume B goes ahead while volume A start waits on AWS', async () => {
    const dir = lockDir();
    const person = agent();
    const a = volume('vola', KEY_A, dir, { ask: person.ask, timeoutSec: 6 });
    const b = volume('volb', KEY_B, dir, { source: keysSource([{ bytes: KEY_B, version: 1 }]) });
    expect(await startVolume(b.deps, b.config)).toBe('unlocked');
    let aSettled = false;
    const startA = startVolume(a.deps, a.config).finally(() => { aSettled = true; });
    await person.asked(1);
    expect(await stopVolume(b.deps, b.config)).toBe('closed');
    expect(aSettled, 'A is still waiting for a key when B has stopped').toBe(false);
    expect(b.sys.mappings.size).toBe(0);
    person.questions[0]!.answer(KEY_A);
    expect(await startA).toBe('unlocked');
  });

  it('volumes sharing a mapping name or a mount point share a lock', () => {
    const one = volumeLockNames({ volume: 'a', mapName: 'data', mountPoint: '/srv/a' });
    const sameMap = volumeLockNames({ volume: 'b', mapName: 'data', mountPoint: '/srv/b' });
    const sameMount = volumeLockNames({ volume: 'c', mapName: 'c', mountPoint: '/srv/a' });
    const other = volumeLockNames({ volume: 'd', mapName: 'd', mountPoint: '/srv/d' });
    expect(one.filter((n) => sameMap.includes(n))).toEqual([expect.stringMatching(/^lock\.map\.[0-9a-f]{16}$/)]);
    expect(one.filter((n) => sameMount.includes(n))).toHaveLength(1);
    expect(one.filter((n) => other.includes(n))).toEqual([]);
    expect(one).toEqual([...one].sort());
  });

  it('lock file names fit NAME_MAX for the longest volume name and never take an unlock record\'s form (<volume>.json)', () => {
    const longest = volumeLockNames({ volume: 'v'.repeat(250), mapName: 'm'.repeat(127), mountPoint: `/${'d'.repeat(4000)}` });
    for (const name of longest) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    const record = volumeLockNames({ volume: 'a.json', mapName: 'x.json', mountPoint: '/srv/a' });
    for (const name of record) expect(name).toMatch(/^lock\.(volume|map|mount)\.[0-9a-f]{16}$/);
  });
});

describe('two volume configs naming one disk by different paths', () => {
  it('a start through the by-id name waits while another config\'s start holds the disk, and gives up with LOCKED naming it', async () => {
    const dir = lockDir();
    const person = agent();
    const disk = oneDisk(dir);
    const a = disk.config('vola', '/dev/disk0', { ask: person.ask });
    const statusOfB: string[] = [];
    const b = disk.config('volb', BY_ID, { ask: person.ask, timeoutSec: 2, statusLines: statusOfB });
    const startA = startVolume(a.deps, a.config);
    await person.asked(1);
    const error = await startVolume(b.deps, b.config).catch((e: unknown) => e);
    expect(error).toMatchObject({
      kind: 'LOCKED',
      message: expect.stringMatching(/^Another luks-ssm run \(volume vola\) holds .*\/lock\.device\.240:\d+, the lock of device .*\/dev\/disk0 \(240:\d+\); gave up after/),
    });
    expect((error as Error).message).toContain(join(dir, 'lock.device.'));
    expect(disk.onDisk('volb'), 'B never touched the disk').toEqual([]);
    expect(person.questions, 'B never asked for a key').toHaveLength(1);
    // What `systemctl status` showed while B waited: the lock, not the device (which was there).
    expect(statusOfB.filter((l) => l !== '').at(-1)).toMatch(/^waiting for the lock of \S+\/dev\/disk0 \(another luks-ssm run may hold it\); gives up in \d+ s$/);
    person.questions[0]!.answer(KEY_A);
    expect(await startA).toBe('unlocked');
  });

  it('a start of one config waits for a stop of the other to finish on the disk before it opens it', async () => {
    const dir = lockDir();
    const disk = oneDisk(dir);
    const b = disk.config('volb', BY_ID, { source: keysSource([{ bytes: KEY_A, version: 1 }]), slowUmount: true });
    expect(await startVolume(b.deps, b.config)).toBe('unlocked');
    const a = disk.config('vola', '/dev/disk0', { source: keysSource([{ bytes: KEY_A, version: 1 }]) });
    disk.events.length = 0;
    const stopB = stopVolume(b.deps, b.config);
    while (!disk.events.some((e) => e.startsWith('volb: umount'))) await sleep(10);
    const startA = startVolume(a.deps, a.config);
    expect(await stopB).toBe('closed');
    expect(await startA).toBe('unlocked');
    const closedB = disk.events.indexOf('volb: cryptsetup close -- volb');
    expect(closedB).toBeGreaterThan(-1);
    expect(disk.onDisk('vola').length).toBeGreaterThan(0);
    expect(disk.onDisk('vola').filter((i) => i < closedB), `A worked on the disk during B's stop: ${disk.events.join('; ')}`).toEqual([]);
  });

  it('check through the other name waits for the disk only around its key test: LOCKED there while a start holds the disk, key slots untouched', async () => {
    const dir = lockDir();
    const person = agent();
    const disk = oneDisk(dir);
    const a = disk.config('vola', '/dev/disk0', { ask: person.ask });
    const b = disk.config('volb', BY_ID, { source: keysSource([{ bytes: KEY_A, version: 1 }]), timeoutSec: 2 });
    const startA = startVolume(a.deps, a.config);
    await person.asked(1);
    const report = await checkVolume(b.deps, b.config);
    expect(report.failure?.kind).toBe('LOCKED');
    expect(report.steps.map((s) => [s.name, s.ok])).toEqual([['config', true], ['device', true], ['luks', true], ['mount', true], ['key', false]]);
    expect(report.steps.at(-1)).toMatchObject({ detail: expect.stringContaining('(volume vola) holds') });
    // Only the read-only LUKS check reached the disk: no key was tested on it.
    expect(disk.events.filter((e) => e.startsWith('volb: ') && e.includes('--test-passphrase'))).toEqual([]);
    person.questions[0]!.answer(KEY_A);
    expect(await startA).toBe('unlocked');
  });

  it('two checks of one disk through its two names, each in AWS retries, do not hold each other up', async () => {
    const dir = lockDir();
    const disk = oneDisk(dir);
    /** AWS answers after 2 s: a check waiting for it must not keep the other out of the disk (that one would then
     * get the disk only after 2 s, and its own AWS wait would take it past its 3 s). */
    const slowAws = (): KeySource => ({
      description: 'SSM parameter /test/key',
      async *keys(deadline: number) {
        if (deadline - Date.now() < 2_000) throw new UnlockError('AWS_UNAVAILABLE', 'Failed to get SSM parameter /test/key: the deadline comes before the answer');
        await sleep(2_000);
        yield* keysSource([{ bytes: KEY_A, version: 1 }]).keys(0);
      },
    });
    const a = disk.config('vola', '/dev/disk0', { source: slowAws(), timeoutSec: 3 });
    const b = disk.config('volb', BY_ID, { source: slowAws(), timeoutSec: 3 });
    const [ra, rb] = await Promise.all([checkVolume(a.deps, a.config), checkVolume(b.deps, b.config)]);
    expect([ra.failure, rb.failure]).toEqual([undefined, undefined]);
    expect(ra.steps.find((s) => s.name === 'key')?.ok).toBe(true);
    expect(rb.steps.find((s) => s.name === 'key')?.ok).toBe(true);
  });

  it('a lifecycle verb (enroll, rotate, recovery-key) through the other name gives up with LOCKED before doing anything', async () => {
    const dir = lockDir();
    const person = agent();
    const disk = oneDisk(dir);
    const a = disk.config('vola', '/dev/disk0', { ask: person.ask });
    const b = disk.config('volb', BY_ID, { timeoutSec: 2 });
    const startA = startVolume(a.deps, a.config);
    await person.asked(1);
    let ran = false;
    const lifecycle = { ...b.deps, env: {}, hostname: 'test' };
    await expect(withLock(lifecycle, b.config, disk.sys.device, async () => { ran = true; })).rejects.toMatchObject({
      kind: 'LOCKED',
      message: expect.stringContaining('(volume vola) holds'),
    });
    expect(ran).toBe(false);
    person.questions[0]!.answer(KEY_A);
    expect(await startA).toBe('unlocked');
  });
});
