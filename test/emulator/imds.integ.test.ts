// IMDSv2 through raw HTTP and through the SDK's own IMDS credential provider.
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { fromInstanceMetadata } from '@smithy/credential-provider-imds';
import { describe, expect, it } from 'vitest';
import { startEmulator } from './index.ts';
import { rejectionOf, ssmClient } from './sdk-clients.ts';
import { useEmulator } from './use-emulator.ts';

const world = useEmulator({ imdsEndpoint: true });

async function token(ttl: string): Promise<Response> {
  return fetch(`${world.emulator.url}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': ttl } });
}

async function get(path: string, tokenText?: string): Promise<Response> {
  return fetch(`${world.emulator.url}${path}`, { headers: tokenText === undefined ? {} : { 'x-aws-ec2-metadata-token': tokenText } });
}

describe('IMDSv2 tokens', () => {
  it('answers metadata only with a valid token (401 without)', async () => {
    expect((await get('/latest/meta-data/placement/region')).status).toBe(401);
    expect((await get('/latest/meta-data/placement/region', 'forged')).status).toBe(401);
    const t = await (await token('60')).text();
    const region = await get('/latest/meta-data/placement/region', t);
    expect(region.status).toBe(200);
    expect(await region.text()).toBe('us-east-1');
    expect(await (await get('/latest/meta-data/instance-id', t)).text()).toBe(world.emulator.instanceId);
    const doc = (await (await get('/latest/dynamic/instance-identity/document', t)).json()) as Record<string, string>;
    expect(doc).toMatchObject({ region: 'us-east-1', accountId: world.emulator.accountId, instanceId: world.emulator.instanceId });
  });

  it('refuses a TTL outside 1..21600 with 400', async () => {
    for (const ttl of ['0', '21601', 'abc']) expect((await token(ttl)).status).toBe(400);
    expect((await token('21600')).status).toBe(200);
  });

  it('expires a token after its TTL', async () => {
    const t = await (await token('1')).text();
    expect((await get('/latest/meta-data/instance-id', t)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await get('/latest/meta-data/instance-id', t)).status).toBe(401);
  });

  it('answers 404 for unknown paths', async () => {
    const t = await (await token('60')).text();
    expect((await get('/latest/meta-data/no-such-thing', t)).status).toBe(404);
  });
});

describe('role credentials', () => {
  it('the SDK IMDS provider gets credentials that SSM then accepts', async () => {
    world.emulator.putParameter('/imds/secret', 'from-imds');
    const creds = await fromInstanceMetadata({ timeout: 2_000 })();
    expect(creds.accessKeyId).toMatch(/^ASIA/);
    expect(creds.sessionToken).toBeTruthy();
    expect(creds.expiration!.getTime()).toBeGreaterThan(Date.now() + 3_600_000);
    const ssm = ssmClient(world.emulator, { credentials: creds });
    const out = await ssm.send(new GetParameterCommand({ Name: '/imds/secret', WithDecryption: true }));
    expect(out.Parameter?.Value).toBe('from-imds');
    expect(world.emulator.requests().filter((r) => r.service === 'imds').map((r) => r.action)).toEqual(['token', 'credentials', 'credentials']);
    ssm.destroy();
  });

  it('credentials issued before a restart on the same port still work after it', async () => {
    const creds = await fromInstanceMetadata({ timeout: 2_000 })();
    const port = world.emulator.port;
    await world.emulator.stop();
    world.emulator = await startEmulator({ port });
    world.emulator.putParameter('/after/restart', 'still-here');
    const ssm = ssmClient(world.emulator, { credentials: creds });
    expect((await ssm.send(new GetParameterCommand({ Name: '/after/restart', WithDecryption: true }))).Parameter?.Value).toBe('still-here');
    ssm.destroy();
  });

  it('an expired session answers ExpiredTokenException', async () => {
    const creds = await fromInstanceMetadata({ timeout: 2_000 })();
    world.emulator.putParameter('/p', 'v');
    world.emulator.faults.set({ expireSessions: true });
    const ssm = ssmClient(world.emulator, { credentials: creds });
    const err = await rejectionOf(ssm.send(new GetParameterCommand({ Name: '/p' })));
    expect(err.name).toBe('ExpiredTokenException');
    expect(err.message).toBe('The security token included in the request is expired');
    ssm.destroy();
  });

  it('a session token that does not match the access key is UnrecognizedClientException', async () => {
    const creds = await fromInstanceMetadata({ timeout: 2_000 })();
    const ssm = ssmClient(world.emulator, { credentials: { ...creds, sessionToken: 'not-the-token' } });
    const err = await rejectionOf(ssm.send(new GetParameterCommand({ Name: '/p' })));
    expect(err.name).toBe('UnrecognizedClientException');
    ssm.destroy();
  });
});
