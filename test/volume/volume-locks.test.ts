// Several volumes in one AWS outage: each run holds only its volume's locks; the host lock covers only cryptsetup open.
// Real flock(1) on a shared lock dir, as two luks-ssm processes on one host would use /run/luks-ssm.
import { mkdtempSync, rmSync } from 'node:fs';
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
    acquireLock: (deadline) => acquireRunLock({ dir: lockDir, timeoutMs: Math.max(1, deadline - Date.now()) }),
    acquireVolumeLock: (config, deadline) => acquireRunLocks({ dir: lockDir, names: volumeLockNames(config), deadline, now: Date.now }),
  });
  const config = fakeConfig(sys, { volume: name, mapName: name, timeoutSec: opts.timeoutSec ?? 8 });
  return { sys, deps, log, config };
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
