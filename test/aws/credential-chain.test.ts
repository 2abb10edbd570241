// createCredentialProvider: environment first, then the instance profile; no credentials is one clear line.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createCredentialProvider, defaultProvider } from '../../src/aws/credential-chain.ts';
import { mapAwsError } from '../../src/aws/errors.ts';
import { createImdsClient } from '../../src/aws/imds.ts';
import { classifyTransient } from '../../src/aws/transient.ts';
import { UnlockError } from '../../src/errors.ts';
import { createFakeImds, imdsFailure } from './fakes.ts';

const ROLES = '/latest/meta-data/iam/security-credentials/';
const document = (expiration: Date) => JSON.stringify({
  Code: 'Success', AccessKeyId: 'ASIAIMDS', SecretAccessKey: 'imds-secret', Token: 'imds-token', Expiration: expiration.toISOString(),
});
const inAnHour = () => new Date(Date.now() + 3_600_000);

describe('createCredentialProvider', () => {
  it('uses AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY(/AWS_SESSION_TOKEN) without asking IMDS', async () => {
    const imds = createFakeImds({});
    const provider = createCredentialProvider({ env: { AWS_ACCESS_KEY_ID: 'AKIAENV', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 't' }, imds });
    await expect(provider()).resolves.toEqual({ accessKeyId: 'AKIAENV', secretAccessKey: 's', sessionToken: 't' });
    expect(imds.paths).toEqual([]);
  });

  it('falls back to the instance profile role, and remembers the answer', async () => {
    const expiration = inAnHour();
    const imds = createFakeImds({ [ROLES]: ['luks-role\n'], [`${ROLES}luks-role`]: [document(expiration)] });
    const provider = createCredentialProvider({ env: {}, imds });
    const expected = { accessKeyId: 'ASIAIMDS', secretAccessKey: 'imds-secret', sessionToken: 'imds-token', expiration };
    await expect(provider()).resolves.toEqual(expected);
    await expect(provider()).resolves.toEqual(expected);
    expect(imds.paths).toEqual([ROLES, `${ROLES}luks-role`]);
  });

  it('fetches again when the remembered credentials are about to expire', async () => {
    const soon = new Date(Date.now() + 60_000);
    const imds = createFakeImds({ [ROLES]: ['r'], [`${ROLES}r`]: [document(soon), document(inAnHour())] });
    const provider = createCredentialProvider({ env: {}, imds });
    await provider();
    await provider();
    expect(imds.paths).toHaveLength(4);
  });

  it('an instance without a role: "No AWS credentials" naming both fixes', async () => {
    const provider = createCredentialProvider({ env: {}, imds: createFakeImds({}) });
    const err = (await provider().catch((e: unknown) => e)) as UnlockError;
    expect(err).toBeInstanceOf(UnlockError);
    expect(err.kind).toBe('AWS_UNAVAILABLE');
    expect(err.message).toBe(
      'No AWS credentials: attach an instance profile with ssm:GetParameter, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (instance metadata at http://127.0.0.1:1: no instance profile attached)',
    );
  });

  it('with IMDS disabled and no environment credentials, says so', async () => {
    const provider = createCredentialProvider({ env: { AWS_EC2_METADATA_DISABLED: 'true' }, imds: createFakeImds({}) });
    await expect(provider()).rejects.toThrow(/^No AWS credentials: .*\(none in the environment, and AWS_EC2_METADATA_DISABLED is set\)$/);
  });

  it('lets a transient IMDS failure through for the caller to retry, and does not remember it', async () => {
    const imds = createFakeImds({ [ROLES]: [imdsFailure({ code: 'ECONNREFUSED' }), 'r'], [`${ROLES}r`]: [document(inAnHour())] });
    const provider = createCredentialProvider({ env: {}, imds });
    await expect(provider()).rejects.toMatchObject({ code: 'ECONNREFUSED', imds: true });
    await expect(provider()).resolves.toMatchObject({ accessKeyId: 'ASIAIMDS' });
  });

  it('defaultProvider has the SDK shape and reads the environment when called', async () => {
    const saved = { ...process.env };
    try {
      process.env.AWS_ACCESS_KEY_ID = 'AKIADEFAULT';
      process.env.AWS_SECRET_ACCESS_KEY = 'd';
      const provider = defaultProvider({ timeout: 100 });
      await expect(provider({ forceRefresh: true })).resolves.toMatchObject({ accessKeyId: 'AKIADEFAULT' });
    } finally {
      process.env = saved;
    }
  });
});

// A real IMDS client against a local server that is not quite IMDS: a final answer, but AWS's side, not a bug
// (exit 1) nor the config (issue #10, item 8).
describe('createCredentialProvider: instance metadata that answers wrongly', () => {
  async function withImds(handler: (req: IncomingMessage, res: ServerResponse) => void, check: (err: UnlockError) => void): Promise<void> {
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const imds = createImdsClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const err = await createCredentialProvider({ env: {}, imds, timeoutMs: 5_000 })().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(UnlockError);
      const mapped = mapAwsError(err, { what: 'get SSM parameter /x', action: 'ssm:GetParameter', region: 'eu-west-1' });
      expect([mapped.kind, mapped.exitCode]).toEqual(['AWS_UNAVAILABLE', 69]);
      check(err as UnlockError);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it('a 403 on the token request (IMDS tokens disabled for this hop, or a proxy) is AWS_UNAVAILABLE, 69', async () => {
    await withImds((_req, res) => res.writeHead(403).end('Forbidden'), (err) => {
      expect(err.message).toMatch(/^No AWS credentials: .*\(instance metadata at http:\/\/127\.0\.0\.1:\d+: PUT \/latest\/api\/token answered HTTP 403\)$/);
    });
  });

  it('a credentials document larger than any IMDS answer is passed on as transient (the caller retries it), quoting none of it', async () => {
    const server = createServer((req, res) => {
      if (req.method === 'PUT') res.end('token');
      else if (req.url === ROLES) res.end('r');
      else res.end(`{"Code":"Success","AccessKeyId":"${'A'.repeat(70 * 1024)}"}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const imds = createImdsClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const err = await createCredentialProvider({ env: {}, imds, timeoutMs: 5_000 })().then(() => undefined, (e: unknown) => e);
      expect(classifyTransient(err)).toEqual({ kind: 'server', detail: 'malformed HTTP response', imds: true });
      expect((err as Error).message).toMatch(/: malformed HTTP response: body larger than 65536 bytes$/);
      expect((err as Error).message).not.toContain('AAAA');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
