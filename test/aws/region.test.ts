// resolveRegion: config, then AWS_REGION, then AWS_DEFAULT_REGION, then IMDS (retried), else one clear line.
import { describe, expect, it } from 'vitest';
import { resolveRegion } from '../../src/aws/region.ts';
import { UnlockError } from '../../src/errors.ts';
import { createFakeClock, createFakeImds, imdsFailure } from './fakes.ts';

const REGION_PATH = '/latest/meta-data/placement/region';

function setup(answers: Record<string, Array<string | Error>> = {}) {
  const clock = createFakeClock();
  const imds = createFakeImds(answers);
  return { clock, imds, base: { deadline: clock.now() + 30_000, clock, imds, configFile: '/etc/luks-ssm/data.conf' } };
}

describe('resolveRegion', () => {
  it('prefers the config value over the environment and never asks IMDS', async () => {
    const { imds, base } = setup({ [REGION_PATH]: ['us-west-2'] });
    await expect(resolveRegion({ ...base, configured: 'eu-west-1', env: { AWS_REGION: 'us-east-1' } })).resolves.toBe('eu-west-1');
    expect(imds.paths).toEqual([]);
  });

  it('then AWS_REGION, then AWS_DEFAULT_REGION', async () => {
    const { imds, base } = setup({ [REGION_PATH]: ['us-west-2'] });
    await expect(resolveRegion({ ...base, env: { AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'ap-south-1' } })).resolves.toBe('us-east-1');
    await expect(resolveRegion({ ...base, env: { AWS_DEFAULT_REGION: 'ap-south-1' } })).resolves.toBe('ap-south-1');
    expect(imds.paths).toEqual([]);
  });

  it('then instance metadata, retrying while it is not up yet', async () => {
    const { imds, clock, base } = setup({ [REGION_PATH]: [imdsFailure({ code: 'ECONNREFUSED' }), imdsFailure({ statusCode: 503 }), 'eu-central-1\n'] });
    await expect(resolveRegion({ ...base, env: {} })).resolves.toBe('eu-central-1');
    expect(imds.paths).toEqual([REGION_PATH, REGION_PATH, REGION_PATH]);
    expect(clock.sleeps).toHaveLength(2);
  });

  it('with AWS_EC2_METADATA_DISABLED=true and nothing else, says how to set a region', async () => {
    const { imds, base } = setup({ [REGION_PATH]: ['us-west-2'] });
    const err = (await resolveRegion({ ...base, env: { AWS_EC2_METADATA_DISABLED: 'true' } }).catch((e: unknown) => e)) as UnlockError;
    expect(err).toBeInstanceOf(UnlockError);
    expect(err.kind).toBe('AWS_UNAVAILABLE');
    expect(err.message).toBe(
      'No AWS region: set SSM_REGION in /etc/luks-ssm/data.conf, or AWS_REGION, or run on EC2 with IMDS reachable (AWS_EC2_METADATA_DISABLED is set)',
    );
    expect(imds.paths).toEqual([]);
  });

  it('when IMDS never answers, fails at the deadline with the same advice and what IMDS did', async () => {
    const { clock, base } = setup({ [REGION_PATH]: [imdsFailure({ code: 'ECONNREFUSED' })] });
    const start = clock.now();
    const err = (await resolveRegion({ ...base, env: {} }).catch((e: unknown) => e)) as UnlockError;
    expect(clock.now()).toBe(start + 30_000);
    expect(err.kind).toBe('AWS_UNAVAILABLE');
    expect(err.message).toMatch(
      /^No AWS region: set SSM_REGION in \/etc\/luks-ssm\/data\.conf, or AWS_REGION, or run on EC2 with IMDS reachable \(instance metadata at http:\/\/127\.0\.0\.1:1: network error \(ECONNREFUSED\) on \d+ attempts over 30\.0 s, giving up at the deadline\)$/,
    );
  });

  it('when IMDS answers 404, fails at once', async () => {
    const { clock, base } = setup({});
    const start = clock.now();
    const err = (await resolveRegion({ ...base, env: {} }).catch((e: unknown) => e)) as UnlockError;
    expect(clock.now()).toBe(start);
    expect(err.message).toMatch(/^No AWS region: .* \(instance metadata at http:\/\/127\.0\.0\.1:1: HTTP 404\)$/);
  });

  it('refuses an answer that is not a region', async () => {
    const { base } = setup({ [REGION_PATH]: ['<html>captive portal</html>'] });
    await expect(resolveRegion({ ...base, env: {} })).rejects.toThrow(/answered something that is not a region/);
  });
});
