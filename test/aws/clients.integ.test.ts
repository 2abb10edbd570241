// createAwsContext with the real SDK: region and credentials from the emulator's IMDS, endpoints, lazy KMS.
import { describe, expect, it } from 'vitest';
import { createAwsContext } from '../../src/aws/clients.ts';
import { UnlockError } from '../../src/errors.ts';
import { fetchSsmSecret } from '../../src/secret/ssm.ts';
import { useEmulator } from '../emulator/use-emulator.ts';
import { realClock } from './real-clock.ts';

const NAME = '/luks/data';
const world = useEmulator({ beforeEach: (emulator) => emulator.putParameter(NAME, 'from-imds-creds') });

/** Emulator env without region and/or credentials, so IMDS has to supply them. */
function envWithout(opts: { region?: boolean; credentials?: boolean }): Record<string, string> {
  return world.emulator.env({ withRegion: opts.region !== false, withCredentials: opts.credentials !== false });
}

async function fetchWith(env: Record<string, string>, timeoutMs = 10_000, endpoints = {}) {
  const deadline = Date.now() + timeoutMs;
  const aws = await createAwsContext({ endpoints, env, deadline, clock: realClock, configFile: '/etc/luks-ssm/data.conf' });
  return fetchSsmSecret({ aws, name: NAME, selector: undefined, deadline, clock: realClock });
}

describe('createAwsContext against the emulator', () => {
  it('takes region and credentials from instance metadata when the environment has neither', async () => {
    const deadline = Date.now() + 10_000;
    const aws = await createAwsContext({ endpoints: {}, env: envWithout({ region: false, credentials: false }), deadline, clock: realClock });
    expect(aws.region).toBe(world.emulator.region);
    const fetched = await fetchSsmSecret({ aws, name: NAME, selector: undefined, deadline, clock: realClock });
    expect(fetched.secret.bytes().toString()).toBe('from-imds-creds');
    const imdsActions = world.emulator.requests().filter((r) => r.service === 'imds').map((r) => r.action);
    expect(imdsActions).toContain('GET /latest/meta-data/placement/region');
    expect(imdsActions).toContain('credentials');
  });

  it('waits longer for an IMDS slower than its first 1 s timeout, within the deadline', async () => {
    world.emulator.faults.set({ imds: 'slow', imdsDelayMs: 1500 });
    const started = Date.now();
    const fetched = await fetchWith(envWithout({ region: false, credentials: false }), 20_000);
    expect(fetched.secret.bytes().toString()).toBe('from-imds-creds');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('IMDS absent and no region: the "No AWS region" line, within the deadline', async () => {
    world.emulator.faults.set({ imds: 'absent' });
    const started = Date.now();
    const err = (await fetchWith(envWithout({ region: false }), 1500).catch((e: unknown) => e)) as UnlockError;
    expect(Date.now() - started).toBeLessThan(2500);
    expect(err).toBeInstanceOf(UnlockError);
    expect(err.kind).toBe('AWS_UNAVAILABLE');
    expect(err.message).toMatch(new RegExp(
      '^No AWS region: set SSM_REGION in /etc/luks-ssm/data\\.conf, or AWS_REGION, or run on EC2 with IMDS reachable ' +
      `\\(instance metadata at ${world.emulator.url}: network error \\(ECONNRESET\\) on \\d+ attempts over 1\\.\\d s, giving up at the deadline\\)$`,
    ));
  });

  it('IMDS absent and no credentials: fails at the deadline naming instance metadata', async () => {
    world.emulator.faults.set({ imds: 'absent' });
    const started = Date.now();
    const err = (await fetchWith(envWithout({ credentials: false }), 1500).catch((e: unknown) => e)) as UnlockError;
    expect(Date.now() - started).toBeLessThan(2500);
    expect(err.kind).toBe('AWS_UNAVAILABLE');
    expect(err.message).toMatch(/^Failed to get SSM parameter \/luks\/data: instance metadata: network error \(ECONNRESET\) on \d+ attempts over 1\.\d s, giving up at the deadline$/);
  });

  it('IMDS without an instance profile: "No AWS credentials" at once', async () => {
    world.emulator.faults.set({ imds: 'notfound' });
    const started = Date.now();
    const err = (await fetchWith(envWithout({ credentials: false }), 10_000).catch((e: unknown) => e)) as UnlockError;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err.kind).toBe('AWS_UNAVAILABLE');
    expect(err.message).toMatch(/^No AWS credentials: attach an instance profile with ssm:GetParameter, or set AWS_ACCESS_KEY_ID\/AWS_SECRET_ACCESS_KEY \(/);
  });

  it('SSM_ENDPOINT and IMDS_ENDPOINT from the config win over the environment', async () => {
    const env = { ...world.emulator.env(), AWS_ENDPOINT_URL_SSM: 'http://127.0.0.1:9', AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9' };
    delete (env as Record<string, string | undefined>).AWS_REGION;
    const fetched = await fetchWith(env, 10_000, { ssm: world.emulator.url, imds: world.emulator.url });
    expect(fetched.secret.bytes().toString()).toBe('from-imds-creds');
  });

  it('kms() loads the KMS client on demand and reuses it', async () => {
    const key = world.emulator.createKey({ description: 'luks' });
    const aws = await createAwsContext({ endpoints: {}, env: world.emulator.env(), deadline: Date.now() + 10_000, clock: realClock });
    const { DescribeKeyCommand } = await import('../../src/aws/kms-client.ts');
    const kms = await aws.kms();
    expect(await aws.kms()).toBe(kms);
    expect(aws.ssm()).toBe(aws.ssm());
    const out = await kms.send(new DescribeKeyCommand({ KeyId: key.keyId }));
    expect(out.KeyMetadata?.Arn).toBe(key.arn);
  });
});
