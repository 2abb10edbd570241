// The SSM key source against two emulators (two regions) with the real SDK: history fallback and region failover.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UnlockError } from '../../src/errors.ts';
import { createSsmKeySource } from '../../src/secret/ssm-source.ts';
import type { FetchedKey } from '../../src/secret/source.ts';
import type { VolumeConfig } from '../../src/types.ts';
import { createRecordingLogger } from '../aws/fakes.ts';
import { realClock } from '../aws/real-clock.ts';
import { startEmulator, type Emulator } from '../emulator/index.ts';
import { credentialsEnv, lifecycleConfig } from '../lifecycle/config.ts';
import { startRegionRouter, type RegionRouter } from '../lifecycle/region-router.ts';

const NAME = '/luks/data';
let east: Emulator;
let west: Emulator;
let router: RegionRouter;

beforeAll(async () => {
  east = await startEmulator({ region: 'us-east-1' });
  west = await startEmulator({ region: 'us-west-2' });
  router = await startRegionRouter([east, west]);
});
afterAll(async () => {
  await router.stop();
  await Promise.all([east.stop(), west.stop()]);
});
beforeEach(() => {
  east.reset();
  west.reset();
});

const config = (over: Partial<VolumeConfig> = {}): VolumeConfig => lifecycleConfig(router.url, { fallbackRegions: ['us-west-2'], ...over });

/** Every key the source offers, as text with its version and region, in order; each secret wiped. */
async function offered(cfg: VolumeConfig, log = createRecordingLogger(), timeoutMs = 10_000): Promise<string[]> {
  const source = createSsmKeySource(cfg, { env: credentialsEnv(east), clock: realClock, log });
  const seen: string[] = [];
  for await (const key of source.keys(Date.now() + timeoutMs)) seen.push(label(key));
  return seen;
}

function label(key: FetchedKey): string {
  const text = key.secret.bytes().toString();
  key.secret.wipe();
  return `${text}@${key.version}/${key.region}`;
}

async function failure(cfg: VolumeConfig, timeoutMs?: number): Promise<UnlockError> {
  const error = await offered(cfg, undefined, timeoutMs).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(UnlockError);
  return error as UnlockError;
}

describe('history fallback', () => {
  beforeEach(() => {
    for (const v of ['k1', 'k2', 'k3', 'k4', 'k5']) east.putParameter(NAME, v);
  });

  it('offers the current version, then earlier ones newest first, SSM_HISTORY_FALLBACK of them', async () => {
    expect(await offered(config())).toEqual(['k5@5/us-east-1', 'k4@4/us-east-1', 'k3@3/us-east-1', 'k2@2/us-east-1']);
    expect(await offered(config({ ssmHistoryFallback: 1 }))).toEqual(['k5@5/us-east-1', 'k4@4/us-east-1']);
    expect(await offered(config({ ssmHistoryFallback: 0 }))).toEqual(['k5@5/us-east-1']);
  });

  it('asks for history only once the current key has been refused', async () => {
    const source = createSsmKeySource(config(), { env: credentialsEnv(east), clock: realClock, log: createRecordingLogger() });
    const keys = source.keys(Date.now() + 10_000);
    const first = await keys.next();
    expect(label(first.value as FetchedKey)).toBe('k5@5/us-east-1');
    await keys.return(undefined);
    expect(east.requests().map((r) => r.action)).toEqual(['GetParameter']);
  });

  it('a pinned version or label gets no fallback', async () => {
    expect(await offered(config({ ssmSelector: { version: 2 } }))).toEqual(['k2@2/us-east-1']);
  });

  it('a denied GetParameterHistory ends the list with a warning naming the action', async () => {
    east.faults.set({ denyActions: ['ssm:GetParameterHistory'] });
    const log = createRecordingLogger();
    expect(await offered(config(), log)).toEqual(['k5@5/us-east-1']);
    const warning = log.lines.find((l) => l.level === 'warn');
    expect(warning?.msg).toMatch(/^Failed to read earlier versions of \/luks\/data: .*ssm:GetParameterHistory.*, ignoring\.$/);
  });
});

describe('region failover', () => {
  beforeEach(() => {
    east.putParameter(NAME, 'east-key');
    west.putParameter(NAME, 'west-key');
  });

  it('uses the first region when it answers, and never asks the replica', async () => {
    expect(await offered(config({ ssmHistoryFallback: 0 }))).toEqual(['east-key@1/us-east-1']);
    expect(west.requests()).toEqual([]);
  });

  it('fails over on 5xx past the first region\'s share of the deadline, and says so', async () => {
    east.faults.set({ serverErrors: { rate: 1, status: 503 } });
    const log = createRecordingLogger();
    const started = Date.now();
    expect(await offered(config({ ssmHistoryFallback: 0 }), log, 4_000)).toEqual(['west-key@1/us-west-2']);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(log.lines.some((l) => l.level === 'warn' && l.msg === 'SSM in us-east-1 is unavailable, trying the replica in us-west-2')).toBe(true);
  });

  it('fails over when the first region drops every connection, and when it throttles', async () => {
    east.faults.set({ resetNext: 1000 });
    expect(await offered(config({ ssmHistoryFallback: 0 }), undefined, 3_000)).toEqual(['west-key@1/us-west-2']);
    east.faults.reset();
    east.faults.set({ throttle: { ssm: { rate: 0.001, burst: 0 } } });
    expect(await offered(config({ ssmHistoryFallback: 0 }), undefined, 3_000)).toEqual(['west-key@1/us-west-2']);
  });

  it('never fails over on AccessDenied: the replica is not asked', async () => {
    east.faults.set({ denyActions: ['ssm:GetParameter'] });
    expect((await failure(config())).kind).toBe('AWS_DENIED');
    expect(west.requests()).toEqual([]);
  });

  it('never fails over on ParameterNotFound', async () => {
    east.reset();
    const error = await failure(config());
    expect([error.kind, error.message]).toEqual(['AWS_NOT_FOUND', 'SSM parameter /luks/data not found in us-east-1']);
    expect(west.requests()).toEqual([]);
  });

  it('when every region is unavailable, the error names the last one and the deadline holds', async () => {
    east.faults.set({ serverErrors: { rate: 1 } });
    west.faults.set({ serverErrors: { rate: 1 } });
    const started = Date.now();
    const error = await failure(config(), 2_000);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(error.kind).toBe('AWS_UNAVAILABLE');
    expect(error.message).toMatch(/^Failed to get SSM parameter \/luks\/data: .*giving up at the deadline$/);
    expect(west.requests().length).toBeGreaterThan(0);
  });
});

describe('warmUp (start begins the AWS set-up while its local checks run)', () => {
  /** The east emulator's instance metadata for credentials, as on an instance with a profile. */
  const imdsSource = () => {
    const env = east.env({ withRegion: true, withCredentials: false });
    return createSsmKeySource(config({ endpoints: { ssm: router.url, kms: router.url, imds: east.url }, fallbackRegions: [] }), { env, clock: realClock, log: createRecordingLogger() });
  };
  const actions = () => east.requests().map((r) => r.action);

  beforeEach(() => {
    east.putParameter(NAME, 'k1');
  });

  /** The first key's label, and the instance-metadata requests made for it (and any warm-up before it). */
  async function firstKeyAndImds(source: ReturnType<typeof imdsSource>): Promise<{ key: string; imds: string[] }> {
    const keys = source.keys(Date.now() + 10_000);
    const first = await keys.next();
    await keys.return(undefined);
    return { key: label(first.value as FetchedKey), imds: actions().filter((a) => a === 'token' || a === 'credentials') };
  }

  it('fetches the credentials before the key is asked for, and keys() carries on without asking again', async () => {
    const cold = await firstKeyAndImds(imdsSource());
    east.reset();
    east.putParameter(NAME, 'k1');
    const source = imdsSource();
    source.warmUp?.(Date.now() + 10_000);
    await expect.poll(actions, { timeout: 5000 }).toContain('credentials');
    expect(actions()).not.toContain('GetParameter');
    const warm = await firstKeyAndImds(source);
    expect(warm.key).toBe('k1@1/us-east-1');
    // The same token and credential requests as without a warm-up: keys() used the warm-up's, made none of its own.
    expect(warm.imds).toEqual(cold.imds);
  });

  it('a warm-up stopped while instance metadata is down stops asking it', async () => {
    east.faults.set({ imds: 'absent' });
    // No region configured: the warm-up retries the region lookup, which is what stop() must end.
    const env = east.env({ withRegion: false, withCredentials: false });
    const source = createSsmKeySource(config({ region: undefined, endpoints: { ssm: router.url, kms: router.url, imds: east.url }, fallbackRegions: [] }), { env, clock: realClock, log: createRecordingLogger() });
    const warm = source.warmUp?.(Date.now() + 10_000);
    const imdsRequests = () => east.requests().filter((r) => r.service === 'imds').length;
    await expect.poll(imdsRequests, { timeout: 5000 }).toBeGreaterThan(1);
    warm?.stop();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const afterStop = imdsRequests();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(imdsRequests()).toBe(afterStop);
    expect(actions()).not.toContain('GetParameter');
  });

  it('with replica regions nothing is begun early (the first region\'s share of the deadline is set when the key is asked for)', async () => {
    const env = east.env({ withRegion: true, withCredentials: false });
    const source = createSsmKeySource(config({ endpoints: { ssm: router.url, kms: router.url, imds: east.url } }), { env, clock: realClock, log: createRecordingLogger() });
    source.warmUp?.(Date.now() + 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(east.requests()).toEqual([]);
  });

  it('credentials that failed during the warm-up are fetched again by keys()', async () => {
    east.faults.set({ imds: 'absent' });
    const source = imdsSource();
    source.warmUp?.(Date.now() + 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    east.faults.reset();
    const keys = source.keys(Date.now() + 10_000);
    const first = await keys.next();
    await keys.return(undefined);
    expect(label(first.value as FetchedKey)).toBe('k1@1/us-east-1');
  });
});
