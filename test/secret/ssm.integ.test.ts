// fetchSsmSecret with the real SDK against the emulator: exact bytes, selectors, refusals, faults, errors.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeEach, describe, expect, it } from 'vitest';
import { createAwsContext, type AwsContext } from '../../src/aws/clients.ts';
import { UnlockError } from '../../src/errors.ts';
import { fetchSsmHistory, fetchSsmSecret } from '../../src/secret/ssm.ts';
import type { VolumeConfig } from '../../src/types.ts';
import { useEmulator } from '../emulator/use-emulator.ts';
import { createRecordingLogger } from '../aws/fakes.ts';
import { realClock } from '../aws/real-clock.ts';

const NAME = '/luks/data';
const world = useEmulator();

async function context(timeoutMs = 10_000): Promise<{ aws: AwsContext; deadline: number }> {
  const deadline = Date.now() + timeoutMs;
  return { aws: await createAwsContext({ endpoints: {}, env: world.emulator.env(), deadline, clock: realClock }), deadline };
}

async function fetch(opts: { selector?: VolumeConfig['ssmSelector']; timeoutMs?: number; log?: ReturnType<typeof createRecordingLogger> } = {}) {
  const { aws, deadline } = await context(opts.timeoutMs);
  return fetchSsmSecret({ aws, name: NAME, selector: opts.selector, deadline, clock: realClock, ...(opts.log ? { log: opts.log } : {}) });
}

async function failure(opts: Parameters<typeof fetch>[0] = {}): Promise<UnlockError> {
  const err = await fetch(opts).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(UnlockError);
  return err as UnlockError;
}

describe('fetchSsmSecret: exact bytes', () => {
  const values: Array<[string, string]> = [
    ['a trailing newline', 'correct horse battery staple\n'],
    ['leading and trailing spaces', '  spaced out  '],
    ['a NUL byte', 'before\0after'],
    ['4 KiB', 'k'.repeat(4096)],
    ['non-ASCII', 'pässwörd-ключ-密码-🔑'],
  ];
  it.each(values)('keeps %s byte for byte', async (_label, value) => {
    world.emulator.putParameter(NAME, value);
    const fetched = await fetch();
    expect(fetched.secret.bytes().equals(Buffer.from(value, 'utf8'))).toBe(true);
    expect(fetched).toMatchObject({ name: NAME, version: 1 });
    expect(fetched.arn).toBe(`arn:aws:ssm:${world.emulator.region}:${world.emulator.accountId}:parameter${NAME}`);
    expect(String(fetched.secret)).toBe('[redacted]');
  });
});

describe('fetchSsmSecret: versions and labels', () => {
  beforeEach(() => {
    world.emulator.putParameter(NAME, 'first', { labels: ['old'] });
    world.emulator.putParameter(NAME, 'second');
    world.emulator.putParameter(NAME, 'third');
  });

  it('reads the latest version by default', async () => {
    const fetched = await fetch();
    expect(fetched.secret.bytes().toString()).toBe('third');
    expect(fetched.version).toBe(3);
  });

  it('reads a pinned version and a labelled one', async () => {
    expect((await fetch({ selector: { version: 2 } })).secret.bytes().toString()).toBe('second');
    const labelled = await fetch({ selector: { label: 'old' } });
    expect(labelled.secret.bytes().toString()).toBe('first');
    expect(labelled.version).toBe(1);
  });

  it('a missing version or label is AWS_NOT_FOUND naming it', async () => {
    const version = await failure({ selector: { version: 9 } });
    expect(version.kind).toBe('AWS_NOT_FOUND');
    expect(version.message).toBe(`SSM parameter ${NAME} version 9 not found in ${world.emulator.region}`);
    const label = await failure({ selector: { label: 'nope' } });
    expect(label.kind).toBe('AWS_NOT_FOUND');
    expect(label.message).toBe(`SSM parameter ${NAME} has no version labelled nope in ${world.emulator.region}`);
  });

  it('fetchSsmHistory returns the newest versions first, at most `limit`', async () => {
    const { aws, deadline } = await context();
    const history = await fetchSsmHistory({ aws, name: NAME, deadline, clock: realClock, limit: 2 });
    expect(history.map((h) => [h.version, h.secret.bytes().toString()])).toEqual([[3, 'third'], [2, 'second']]);
  });
});

describe('fetchSsmSecret: refusals and errors', () => {
  it('a missing parameter is AWS_NOT_FOUND naming it and the region', async () => {
    const err = await failure();
    expect(err.kind).toBe('AWS_NOT_FOUND');
    expect(err.message).toBe(`SSM parameter ${NAME} not found in ${world.emulator.region}`);
  });

  it('refuses a plain String parameter', async () => {
    world.emulator.putParameter(NAME, 'not-encrypted', { type: 'String' });
    const err = await failure();
    expect(err.kind).toBe('CONFIG');
    expect(err.message).toBe(`SSM parameter ${NAME} is a String, not a SecureString, refusing.`);
    expect(err.message).not.toContain('not-encrypted');
  });

  it('AccessDenied on ssm:GetParameter names the action and the parameter ARN', async () => {
    world.emulator.putParameter(NAME, 'v');
    world.emulator.faults.set({ denyActions: ['ssm:GetParameter'] });
    const err = await failure();
    const arn = `arn:aws:ssm:${world.emulator.region}:${world.emulator.accountId}:parameter${NAME}`;
    expect(err.kind).toBe('AWS_DENIED');
    expect(err.message).toBe(`Failed to get SSM parameter ${NAME}: access denied to ssm:GetParameter on ${arn}`);
    expect(err.hint).toContain(`"Action":"ssm:GetParameter","Resource":"${arn}"`);
  });

  it('kms:Decrypt denied is AWS_DENIED naming kms:Decrypt', async () => {
    world.emulator.putParameter(NAME, 'v');
    world.emulator.faults.set({ denyActions: ['kms:Decrypt'] });
    const err = await failure();
    expect(err.kind).toBe('AWS_DENIED');
    expect(err.message).toMatch(new RegExp(`^Failed to get SSM parameter ${NAME}: kms:Decrypt`));
  });

  it.each([
    ['Disabled', 'is disabled', 'aws kms enable-key --key-id'],
    ['PendingDeletion', 'is pending deletion', 'aws kms cancel-key-deletion --key-id'],
  ] as const)('a KMS key in state %s is KMS_KEY_UNUSABLE with the fix', async (state, words, fix) => {
    const key = world.emulator.createKey();
    world.emulator.putParameter(NAME, 'v', { keyId: key.keyId });
    world.emulator.setKeyState(key.keyId, state);
    const err = await failure();
    expect(err.kind).toBe('KMS_KEY_UNUSABLE');
    expect(err.message).toBe(`Failed to get SSM parameter ${NAME}: KMS key ${key.arn} ${words}`);
    expect(err.hint).toContain(`${fix} ${key.arn}`);
  });

  it('session credentials still expired after one renewal are AWS_DENIED "credentials rejected"', async () => {
    world.emulator.putParameter(NAME, 'v');
    world.emulator.faults.set({ expireSessions: true });
    const deadline = Date.now() + 10_000;
    const aws = await createAwsContext({ endpoints: {}, env: world.emulator.env({ withCredentials: false }), deadline, clock: realClock });
    const err = (await fetchSsmSecret({ aws, name: NAME, selector: undefined, deadline, clock: realClock }).catch((e: unknown) => e)) as UnlockError;
    expect(err.kind).toBe('AWS_DENIED');
    expect(err.message).toMatch(/^Failed to get SSM parameter \/luks\/data: credentials rejected \(ExpiredToken(Exception)?\)$/);
    // Renewed once (the role's name and its credentials, asked again), then the second "expired" was final.
    expect(world.emulator.requests().filter((r) => r.action === 'GetParameter').length).toBe(2);
    expect(world.emulator.requests().filter((r) => r.action === 'credentials').length).toBe(4);
  });
});

describe('fetchSsmSecret: transient failures within the deadline', () => {
  beforeEach(() => {
    world.emulator.putParameter(NAME, 'survivor');
  });
  const getParameterCalls = () => world.emulator.requests().filter((r) => r.action === 'GetParameter').length;

  it('retries throttling until it gets through', async () => {
    world.emulator.faults.set({ throttle: { ssm: { rate: 4, burst: 1 } } });
    await fetch(); // takes the one token: the next call starts throttled
    const log = createRecordingLogger();
    const fetched = await fetch({ log });
    expect(fetched.secret.bytes().toString()).toBe('survivor');
    expect(log.lines.some((l) => l.msg === `Failed to get SSM parameter ${NAME}: throttled (ThrottlingException), retrying`)).toBe(true);
  });

  it('retries 5xx answers', async () => {
    world.emulator.faults.set({ serverErrors: { count: 2, status: 503 } });
    expect((await fetch()).secret.bytes().toString()).toBe('survivor');
    expect(getParameterCalls()).toBe(3);
  });

  it('retries connections reset without an answer', async () => {
    world.emulator.faults.set({ resetNext: 2 });
    expect((await fetch()).secret.bytes().toString()).toBe('survivor');
  });

  it('gives up at the deadline with AWS_UNAVAILABLE, naming the failure and attempts', async () => {
    world.emulator.faults.set({ serverErrors: { rate: 1 } });
    const started = Date.now();
    const err = await failure({ timeoutMs: 1500 });
    expect(Date.now() - started).toBeLessThan(2500);
    expect(err.kind).toBe('AWS_UNAVAILABLE');
    expect(err.message).toMatch(/^Failed to get SSM parameter \/luks\/data: server error \(InternalServerError, HTTP 500\) on \d+ attempts over 1\.\d s, giving up at the deadline$/);
  });

  it('an answer slower than the deadline is TIMEOUT, on time', async () => {
    world.emulator.faults.set({ latencyMs: 5000 });
    const started = Date.now();
    const err = await failure({ timeoutMs: 1000 });
    expect(Date.now() - started).toBeLessThan(1800);
    expect(err.kind).toBe('TIMEOUT');
    expect(err.message).toMatch(/^Failed to get SSM parameter \/luks\/data: timed out \(after 1\.0 s\) on 1 attempt over 1\.\d s, giving up at the deadline$/);
  });

  it('never writes the value into a log line or an error', async () => {
    world.emulator.putParameter(NAME, 'hunter2-value');
    world.emulator.faults.set({ serverErrors: { count: 1 } });
    const log = createRecordingLogger();
    const fetched = await fetch({ log });
    expect(fetched.secret.bytes().toString()).toBe('hunter2-value');
    expect(log.lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(log.lines)).not.toContain('hunter2');
    expect(JSON.stringify(fetched)).not.toContain('hunter2');
  });
});

describe('fetchSsmSecret: a response that is not what SSM sends', () => {
  // A broken proxy or endpoint cutting the body short: the JSON parser's message quotes the start of the body,
  // which here is the passphrase. No part of it may reach the error line (issue #10, item 7).
  it('names no byte of a malformed body in the error', async () => {
    const secret = 'PASSPHRASE-9f8e7d6c5b4a';
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(`${secret}","Type":"SecureString"}}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      // Malformed answers are retried (a proxy's glitch) until the deadline: a short one.
      const deadline = Date.now() + 2_000;
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const aws = await createAwsContext({ endpoints: { ssm: url }, env: world.emulator.env(), deadline, clock: realClock });
      const err = await fetchSsmSecret({ aws, name: NAME, selector: undefined, deadline, clock: realClock }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(UnlockError);
      const shown = `${(err as UnlockError).message} ${(err as UnlockError).hint ?? ''} ${String((err as { cause?: { message?: unknown } }).cause?.message ?? '')}`;
      for (let i = 0; i + 4 <= secret.length; i += 1) expect(shown).not.toContain(secret.slice(i, i + 4));
      expect((err as UnlockError).message).toMatch(new RegExp(`^Failed to get SSM parameter ${NAME}: server error \\(malformed response, HTTP 200\\) on \\d+ attempts over \\d\\.\\d s, giving up at the deadline$`));
      expect((err as UnlockError).exitCode).toBe(69);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  // The SDK's own deserialiser refuses it ("Expected real number, got implicit NaN" and a pointer to a hidden field):
  // a garbled answer like any other, retried to the deadline, in fixed words (review 13).
  it('treats a field the SDK cannot read (a LastModifiedDate that is no date) as a malformed answer, retried', async () => {
    let answered = 0;
    const server = createServer((_req, res) => {
      answered += 1;
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ Parameter: { Name: NAME, Type: 'SecureString', Value: 'hunter2-value', Version: 1, LastModifiedDate: 'not-a-date' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const deadline = Date.now() + 2_000;
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const aws = await createAwsContext({ endpoints: { ssm: url }, env: world.emulator.env(), deadline, clock: realClock });
      const err = (await fetchSsmSecret({ aws, name: NAME, selector: undefined, deadline, clock: realClock }).catch((e: unknown) => e)) as UnlockError;
      expect(err.message).toMatch(new RegExp(`^Failed to get SSM parameter ${NAME}: server error \\(malformed response, HTTP 200\\) on \\d+ attempts`));
      expect(err.exitCode).toBe(69);
      expect(answered).toBeGreaterThan(1);
      expect(JSON.stringify([err.message, err.hint])).not.toMatch(/hunter2|hidden field|NaN/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
