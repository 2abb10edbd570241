// Each fault kind, observed through the real SDK and the request log.
import { DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { AccessDeniedException, GetParameterCommand, InternalServerError, ThrottlingException } from '@aws-sdk/client-ssm';
import { fromInstanceMetadata } from '@smithy/credential-provider-imds';
import { afterEach, describe, expect, it } from 'vitest';
import { checkFaultSpec } from './fault-check.ts';
import { startEmulator } from './index.ts';
import { kmsClient, rejectionOf, ssmClient } from './sdk-clients.ts';
import { useEmulator } from './use-emulator.ts';

const world = useEmulator({ imdsEndpoint: true, beforeEach: (emulator) => emulator.putParameter('/f/p', 'secret-value') });
afterEach(() => world.emulator.faults.reset());

async function getParameter(opts: { maxAttempts?: number } = {}) {
  const ssm = ssmClient(world.emulator, opts);
  try {
    return await ssm.send(new GetParameterCommand({ Name: '/f/p', WithDecryption: true }));
  } finally {
    ssm.destroy();
  }
}

const ssmLog = () => world.emulator.requests().filter((r) => r.service === 'ssm').map((r) => r.status);

describe('server errors', () => {
  it('the next N requests answer 500; the SDK retries through them', async () => {
    world.emulator.faults.set({ serverErrors: { count: 2 } });
    expect((await getParameter({ maxAttempts: 3 })).Parameter?.Value).toBe('secret-value');
    expect(ssmLog()).toEqual([500, 500, 200]);
  });

  it('without retries the SDK raises InternalServerError', async () => {
    world.emulator.faults.set({ serverErrors: { count: 1 } });
    expect(await rejectionOf(getParameter())).toBeInstanceOf(InternalServerError);
  });

  it('503 and a deterministic rate', async () => {
    world.emulator.faults.set({ serverErrors: { rate: 0.5, status: 503 } });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) outcomes.push(await getParameter().then(() => 'ok', (e: Error) => e.name));
    expect(outcomes).toEqual(['ok', 'ServiceUnavailable', 'ok', 'ServiceUnavailable']);
  });
});

describe('throttling', () => {
  it('a token bucket allows the burst, then ThrottlingException, then refills at the rate', async () => {
    world.emulator.faults.set({ throttle: { ssm: { rate: 1, burst: 2 } } });
    await getParameter();
    await getParameter();
    const err = await rejectionOf(getParameter());
    expect(err).toBeInstanceOf(ThrottlingException);
    expect(err.message).toBe('Rate exceeded');
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await getParameter()).Parameter?.Value).toBe('secret-value');
    expect(world.emulator.requests().filter((r) => r.error === 'ThrottlingException')).toHaveLength(1);
  });

  it('a share throttles deterministically: 0.5 refuses the first call and every second one after it', async () => {
    world.emulator.faults.set({ throttle: { ssm: { share: 0.5 } } });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) outcomes.push(await getParameter().then(() => 'ok', (e: Error) => e.name));
    expect(outcomes).toEqual(['ThrottlingException', 'ok', 'ThrottlingException', 'ok']);
  });

  it('KMS has its own bucket', async () => {
    world.emulator.faults.set({ throttle: { kms: { rate: 0, burst: 0 } } });
    expect((await getParameter()).Parameter?.Value).toBe('secret-value');
    const kms = kmsClient(world.emulator);
    expect((await rejectionOf(kms.send(new EncryptCommand({ KeyId: 'alias/aws/ssm', Plaintext: new Uint8Array([1]) })))).name).toBe('ThrottlingException');
    kms.destroy();
  });
});

describe('denied actions', () => {
  it('ssm:GetParameter denied: AccessDeniedException in IAM words, naming the role session', async () => {
    world.emulator.faults.set({ denyActions: ['ssm:GetParameter'] });
    const credentials = await fromInstanceMetadata({ timeout: 2_000 })();
    const ssm = ssmClient(world.emulator, { credentials });
    const err = await rejectionOf(ssm.send(new GetParameterCommand({ Name: '/f/p', WithDecryption: true })));
    ssm.destroy();
    expect(err).toBeInstanceOf(AccessDeniedException);
    expect(err.message).toBe(
      `User: arn:aws:sts::${world.emulator.accountId}:assumed-role/${world.emulator.role}/${world.emulator.instanceId} is not authorized to perform: ` +
      `ssm:GetParameter on resource: arn:aws:ssm:us-east-1:${world.emulator.accountId}:parameter/f/p ` +
      'because no identity-based policy allows the ssm:GetParameter action');
  });

  it('kms:Decrypt denied: SSM decryption fails, reading the ciphertext still works, KMS Decrypt is denied', async () => {
    const kms = kmsClient(world.emulator);
    const blob = (await kms.send(new EncryptCommand({ KeyId: 'alias/aws/ssm', Plaintext: new Uint8Array([7]) }))).CiphertextBlob;
    world.emulator.faults.set({ denyActions: ['kms:Decrypt'] });
    expect((await rejectionOf(getParameter()))).toBeInstanceOf(AccessDeniedException);
    const ssm = ssmClient(world.emulator);
    expect((await ssm.send(new GetParameterCommand({ Name: '/f/p' }))).Parameter?.Type).toBe('SecureString');
    ssm.destroy();
    const direct = await rejectionOf(kms.send(new DecryptCommand({ CiphertextBlob: blob })));
    expect(direct.name).toBe('AccessDeniedException');
    expect(direct.message).toMatch(/is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:\d+:key\//);
    kms.destroy();
  });
});

describe('latency and dropped connections', () => {
  it('latency applies per match', async () => {
    world.emulator.faults.set({ latencyMs: { 'ssm:GetParameter': 300 } });
    const started = performance.now();
    await getParameter();
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('resetNext drops the connection without an answer; the SDK retry gets through', async () => {
    world.emulator.faults.set({ resetNext: 1 });
    const err = await rejectionOf(getParameter());
    expect(`${err.name} ${err.message} ${(err as { code?: string }).code}`).toMatch(/ECONNRESET|socket hang up/);
    world.emulator.faults.set({ resetNext: 1 });
    expect((await getParameter({ maxAttempts: 2 })).Parameter?.Value).toBe('secret-value');
    expect(world.emulator.requests().filter((r) => r.service === 'ssm').map((r) => r.error ?? r.status)).toEqual(['reset', 'reset', 200]);
  });
});

describe('mutated bodies (for fuzzing)', () => {
  it('mutateBody edits the next N answers: a flipped brace is a deserialization error, then answers are whole again', async () => {
    world.emulator.faults.set({ mutateBody: { ops: [{ kind: 'flip', at: 0, byte: 0x01 }], count: 1 } });
    const err = await rejectionOf(getParameter());
    expect(err.name).toMatch(/SyntaxError|Deserialization/i);
    expect((await getParameter()).Parameter?.Value).toBe('secret-value');
  });

  it('keepLength with a cut announces more than it sends: the client sees the connection end early', async () => {
    world.emulator.faults.set({ mutateBody: { ops: [{ kind: 'cut', at: 0.5 }], keepLength: true, match: 'ssm:GetParameter' } });
    const err = await rejectionOf(getParameter());
    expect(`${err.name} ${err.message} ${(err as { code?: string }).code}`).toMatch(/ECONNRESET|socket hang up|aborted|premature/i);
  });

  it('refuses a malformed mutateBody spec over the control API', () => {
    expect(() => world.emulator.faults.set(checkFaultSpec({ mutateBody: { ops: [{ kind: 'shred', at: 2 }] } }))).toThrow(/mutateBody/);
  });
});

describe('IMDS faults', () => {
  it('slow: the SDK provider times out when its timeout is shorter than the delay, succeeds with patience', async () => {
    world.emulator.faults.set({ imds: 'slow', imdsDelayMs: 400 });
    await expect(fromInstanceMetadata({ timeout: 200 })()).rejects.toThrow();
    const started = performance.now();
    const creds = await fromInstanceMetadata({ timeout: 2_000 })();
    expect(performance.now() - started).toBeGreaterThanOrEqual(3 * 390);
    expect(creds.accessKeyId).toMatch(/^ASIA/);
  });

  it('absent: connections are dropped; notfound: 404', async () => {
    world.emulator.faults.set({ imds: 'absent' });
    await expect(fromInstanceMetadata({ timeout: 1_000 })()).rejects.toThrow();
    expect(world.emulator.requests().some((r) => r.service === 'imds' && r.error === 'reset')).toBe(true);
    world.emulator.faults.set({ imds: 'notfound' });
    const res = await fetch(`${world.emulator.url}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } });
    expect(res.status).toBe(404);
  });

  it('token-refused: the IMDSv2 token PUT answers 403, other paths stay IMDSv2-only (401 without a token)', async () => {
    world.emulator.faults.set({ imds: 'token-refused' });
    const put = await fetch(`${world.emulator.url}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } });
    expect(put.status).toBe(403);
    expect((await fetch(`${world.emulator.url}/latest/meta-data/placement/region`)).status).toBe(401);
    await expect(fromInstanceMetadata({ timeout: 1_000 })()).rejects.toThrow();
  });
});

describe('stop()', () => {
  it('ends promptly while an injected delay is pending, dropping that request', async () => {
    const own = await startEmulator();
    own.putParameter('/slow', 'v');
    own.faults.set({ latencyMs: 60_000 });
    const ssm = ssmClient(own);
    const pending = rejectionOf(ssm.send(new GetParameterCommand({ Name: '/slow' })));
    await new Promise((r) => setTimeout(r, 100));
    const started = performance.now();
    await own.stop();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect((await pending).message).toMatch(/socket hang up|ECONNRESET|aborted/i);
    ssm.destroy();
  });
});
