// start when AWS fails: a person's typed key races the AWS retries; whichever opens first wins, the other is withdrawn.
import { afterEach, describe, expect, it } from 'vitest';
import { UnlockError } from '../../src/errors.ts';
import type { RetryHooks } from '../../src/aws/retry.ts';
import { Secret } from '../../src/secret/secret.ts';
import type { FetchedKey, KeySource } from '../../src/secret/source.ts';
import type { AskOptions, AskResult } from '../../src/systemd/ask-password.ts';
import type { StatusLine } from '../../src/systemd/notify.ts';
import { startVolume } from '../../src/volume/start.ts';
import { readUnlockRecord } from '../../src/volume/unlock-record.ts';
import { ASK_TRIES } from '../../src/volume/unlock-race.ts';
import { realClock } from '../aws/real-clock.ts';
import { createFakeSystem, fakeConfig, fakeDeps, type FakeSystem } from '../support/fake-system.ts';

const RECOVERY = 'cbdefghi-jklnrtuv-cbdefghi-jklnrtuv-cbdefghi-jklnrtuv-cbdefghi-jklnrtuv';
const SSM_KEY = Buffer.from(RECOVERY);
let sys: FakeSystem;
afterEach(() => sys?.cleanup());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * AWS unreachable until `backAfterMs` (Infinity: never), failing every 20 ms through onRetry as callWithRetry
 * does; then `answer` (a key) or `fail` (a final error). Records whether it was told to stop.
 */
function outage(opts: { backAfterMs?: number; answer?: Buffer; fail?: UnlockError }) {
  const seen = { aborted: false, attempts: 0 };
  const source: KeySource = {
    description: 'SSM parameter /test/key',
    async *keys(deadline: number, hooks?: RetryHooks): AsyncGenerator<FetchedKey> {
      if (opts.fail) throw opts.fail;
      const back = Date.now() + (opts.backAfterMs ?? Infinity);
      while (Date.now() < back) {
        if (hooks?.signal?.aborted) {
          seen.aborted = true;
          throw Object.assign(new Error('aborted'), { name: 'AbortError' });
        }
        if (Date.now() >= deadline) throw new UnlockError('AWS_UNAVAILABLE', 'Failed to get SSM parameter /test/key: connection refused on many attempts, giving up at the deadline');
        seen.attempts += 1;
        hooks?.onRetry?.({ what: 'get SSM parameter /test/key', attempt: seen.attempts, reason: 'connection refused', retryInMs: 20 });
        await sleep(20);
      }
      yield { secret: Secret.copyOf(opts.answer ?? SSM_KEY), source: 'ssm:/test/key', version: 7, region: 'us-east-1' };
    },
  };
  return { source, seen };
}

/** A person at the agent: answers each question after `afterMs` with the next of `answers`; records withdrawals. */
function person(answers: Array<string | undefined>, afterMs = 50) {
  const asked: AskOptions[] = [];
  const withdrawn: number[] = [];
  const ask = async (opts: AskOptions): Promise<AskResult> => {
    asked.push(opts);
    const answer = answers[asked.length - 1];
    const stop = new Promise<'stop'>((resolve) => opts.signal?.addEventListener('abort', () => resolve('stop'), { once: true }));
    const waited = await Promise.race([sleep(answer === undefined ? opts.timeoutSec * 1000 : afterMs).then(() => 'answer' as const), stop]);
    if (waited === 'stop') {
      withdrawn.push(asked.length);
      return { none: 'withdrawn' };
    }
    return answer === undefined ? { none: 'timed out' } : { key: Secret.copyOf(Buffer.from(answer)) };
  };
  return { ask, asked, withdrawn };
}

function statusRecorder(): StatusLine & { lines: string[] } {
  const lines: string[] = [];
  return { lines, set: (t) => void lines.push(t), clear: async () => void lines.push('') };
}

function setup(source: KeySource, ask: ReturnType<typeof person>['ask'] | undefined, timeoutSec = 10) {
  sys = createFakeSystem(SSM_KEY);
  const statusLine = statusRecorder();
  const { deps, log } = fakeDeps(sys, source, { clock: realClock, askPassword: ask, statusLine });
  return { deps, log, statusLine, config: fakeConfig(sys, { timeoutSec }) };
}

describe('start with AWS down: the typed key', () => {
  it('opens the volume with a recovery key typed at the agent, and the AWS retries stop', async () => {
    const aws = outage({});
    const who = person([RECOVERY]);
    const { deps, log, config } = setup(aws.source, who.ask);
    expect(await startVolume(deps, config)).toBe('unlocked');
    expect(sys.mounts.get(sys.mountPoint)).toBe('/dev/mapper/data');
    expect(aws.seen.aborted).toBe(true);
    expect(who.asked[0]).toMatchObject({ id: 'luks-ssm:data' });
    expect(who.asked[0]!.timeoutSec).toBeLessThanOrEqual(10);
    expect((await readUnlockRecord(deps.runDir, 'data'))?.source).toBe('typed key');
    const open = sys.calls.find((c) => c.args[0] === 'open' && !c.args.includes('--test-passphrase'))!;
    expect(open.args.join(' ')).not.toContain(RECOVERY);
    expect(open.input?.toString()).toBe(RECOVERY);
    expect(JSON.stringify(log.lines)).not.toContain(RECOVERY);
  });

  it('accepts the recovery key typed in upper case without dashes (normalised as systemd does)', async () => {
    const { deps, config } = setup(outage({}).source, person([RECOVERY.replaceAll('-', '').toUpperCase()]).ask);
    expect(await startVolume(deps, config)).toBe('unlocked');
  });

  it('asks again after a wrong key, then fails with WRONG_PASSPHRASE after the last try, stopping AWS', async () => {
    const aws = outage({});
    const who = person(['wrong 1', 'wrong 2', 'wrong 3', RECOVERY]);
    const { deps, config } = setup(aws.source, who.ask);
    const started = Date.now();
    await expect(startVolume(deps, config)).rejects.toMatchObject({ kind: 'WRONG_PASSPHRASE', exitCode: 80 });
    expect(who.asked).toHaveLength(ASK_TRIES);
    expect(who.asked[1]!.message).toMatch(/try 2 of 3/);
    expect(aws.seen.aborted).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sys.mappings.size).toBe(0);
  });

  it('asks when AWS refuses for good (access denied), not only when it is unreachable', async () => {
    const who = person([RECOVERY]);
    const { deps, config } = setup(outage({ fail: new UnlockError('AWS_DENIED', 'AccessDenied') }).source, who.ask);
    expect(await startVolume(deps, config)).toBe('unlocked');
    expect(who.asked).toHaveLength(1);
  });

  it('asks when every version from AWS opens nothing', async () => {
    const who = person([RECOVERY]);
    const { deps, config } = setup(outage({ backAfterMs: 0, answer: Buffer.from('stale') }).source, who.ask);
    expect(await startVolume(deps, config)).toBe('unlocked');
    expect((await readUnlockRecord(deps.runDir, 'data'))?.source).toBe('typed key');
  });
});

describe('start with AWS down: AWS comes back first', () => {
  it('withdraws the open question and opens with the SSM key', async () => {
    const aws = outage({ backAfterMs: 300 });
    const who = person([undefined]);
    const { deps, config } = setup(aws.source, who.ask);
    expect(await startVolume(deps, config)).toBe('unlocked');
    expect(who.asked).toHaveLength(1);
    expect(who.withdrawn).toEqual([1]);
    expect((await readUnlockRecord(deps.runDir, 'data'))).toMatchObject({ source: 'ssm:/test/key', version: 7 });
  });

  it('never asks when AWS answers at once', async () => {
    const who = person([RECOVERY]);
    const { deps, config } = setup(outage({ backAfterMs: 0 }).source, who.ask);
    expect(await startVolume(deps, config)).toBe('unlocked');
    expect(who.asked).toHaveLength(0);
  });
});

describe('ASK_PASSWORD=no: nobody is ever asked', () => {
  it('fails with AWS\'s refusal at once, no question opened', async () => {
    const who = person([RECOVERY]);
    sys = createFakeSystem(SSM_KEY);
    const { deps } = fakeDeps(sys, outage({ fail: new UnlockError('AWS_DENIED', 'AccessDenied') }).source, { clock: realClock, askPassword: who.ask });
    const started = Date.now();
    await expect(startVolume(deps, fakeConfig(sys, { timeoutSec: 10, askPassword: false }))).rejects.toMatchObject({ kind: 'AWS_DENIED' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(who.asked).toHaveLength(0);
    expect(sys.mappings.size + sys.mounts.size).toBe(0);
  });

  it('keeps retrying AWS without asking while it is down, and opens when it comes back', async () => {
    const who = person([RECOVERY]);
    const aws = outage({ backAfterMs: 300 });
    sys = createFakeSystem(SSM_KEY);
    const { deps } = fakeDeps(sys, aws.source, { clock: realClock, askPassword: who.ask });
    expect(await startVolume(deps, fakeConfig(sys, { timeoutSec: 10, askPassword: false }))).toBe('unlocked');
    expect(aws.seen.attempts).toBeGreaterThan(1);
    expect(who.asked).toHaveLength(0);
    expect((await readUnlockRecord(deps.runDir, 'data'))?.source).toBe('ssm:/test/key');
  });
});

describe('start with AWS down and nobody answering', () => {
  it('fails at the deadline with AWS\'s own error, nothing opened or mounted', async () => {
    const who = person([undefined]);
    const { deps, config } = setup(outage({}).source, who.ask, 6);
    const started = Date.now();
    await expect(startVolume(deps, config)).rejects.toMatchObject({ kind: 'AWS_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(sys.mappings.size + sys.mounts.size).toBe(0);
  }, 15_000);
});

describe('AWS refuses for good and nobody answers', () => {
  it('waits only for the question, open until the deadline, then fails with AWS\'s refusal, not a timeout', async () => {
    const who = person([undefined]);
    const { deps, log, config, statusLine } = setup(outage({ fail: new UnlockError('AWS_DENIED', 'AccessDenied', { hint: 'allow ssm:GetParameter' }) }).source, who.ask, 6);
    await expect(startVolume(deps, config)).rejects.toMatchObject({ kind: 'AWS_DENIED' });
    expect(who.asked).toHaveLength(1);
    // The refusal is logged as the question opens, not only once it is answered or times out (review 8).
    const said = log.lines.findIndex((l) => l.level === 'warn' && l.msg === 'AWS gave no key for data: AccessDenied (allow ssm:GetParameter); only a typed key can open ' + sys.device + ' now');
    const asked = log.lines.findIndex((l) => l.msg?.startsWith('asking for a recovery key or passphrase for data'));
    expect(said).toBeGreaterThanOrEqual(0);
    expect(asked).toBeGreaterThan(said);
    expect(who.asked[0]!.timeoutSec).toBeGreaterThanOrEqual(5);
    // What `systemctl status` says meanwhile: AWS is done, the question is what it waits for.
    expect(statusLine.lines.some((l) => /^AWS gave no key that opens .* \(AccessDenied\), not retrying; asking for a recovery key/.test(l))).toBe(true);
  }, 15_000);
});

describe('the service status line while start waits', () => {
  it('names the AWS attempt and its failure, the question and the time left, and is cleared at the end', async () => {
    const { deps, config, statusLine } = setup(outage({}).source, person([RECOVERY], 300).ask);
    await startVolume(deps, config);
    expect(statusLine.lines.some((l) => /AWS attempt \d+ failed \(connection refused\), retrying/.test(l))).toBe(true);
    expect(statusLine.lines.some((l) => /asking for a recovery key or passphrase \(luks-ssm:data/.test(l))).toBe(true);
    expect(statusLine.lines.every((l) => l === '' || /gives up in \d+ s$/.test(l))).toBe(true);
    expect(statusLine.lines.at(-1)).toBe('');
    expect(statusLine.lines.join('\n')).not.toContain(RECOVERY);
  });

  it('says the device is being opened once the key from AWS is in hand (not still "fetching")', async () => {
    const { deps, config, statusLine } = setup(outage({ backAfterMs: 60 }).source, undefined);
    await startVolume(deps, config);
    const last = statusLine.lines.filter((l) => l !== '').at(-1);
    expect(last).toMatch(/^opening \S+ with ssm:\/test\/key version 7; gives up in \d+ s$/);
  });
});

describe('the host lock around cryptsetup open', () => {
  it('not coming in time is the run\'s failure (LOCKED), not reported as AWS giving no key; nobody is asked', async () => {
    const who = person([RECOVERY]);
    const { deps, config, statusLine } = setup(outage({ backAfterMs: 0 }).source, who.ask, 2);
    deps.runUnderHostLock = () => async () => {
      throw new UnlockError('LOCKED', 'Another luks-ssm run holds /run/luks-ssm/lock; gave up after 2 s', { retryable: true });
    };
    await expect(startVolume(deps, config)).rejects.toMatchObject({ kind: 'LOCKED' });
    expect(statusLine.lines.filter((l) => l.includes('AWS gave no key'))).toEqual([]);
    expect(who.asked).toHaveLength(0);
    expect(sys.mappings.size + sys.mounts.size).toBe(0);
  });
});
