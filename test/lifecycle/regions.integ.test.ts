// enroll and rotate with SSM_FALLBACK_REGIONS: two emulators (two regions) behind one loopback router.
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testPassphrase } from '../../src/luks/cryptsetup.ts';
import { enrollVolume } from '../../src/lifecycle/enroll.ts';
import { rotateVolume } from '../../src/lifecycle/rotate.ts';
import type { VolumeConfig } from '../../src/types.ts';
import { startEmulator, type Emulator } from '../emulator/index.ts';
import { ssmClient } from '../emulator/sdk-clients.ts';
import { lifecycleConfig } from './config.ts';
import { createFakeDev, keyStartWouldUse, lifecycleDeps, type FakeDev } from './harness.ts';
import { canRunCryptsetup, createImageDir, key, run, type ImageDir } from './images.ts';
import { startRegionRouter, type RegionRouter } from './region-router.ts';

const NAME = '/luks/data';
let east: Emulator;
let west: Emulator;
let router: RegionRouter;
let images: ImageDir;
let dev: FakeDev;
let n = 0;

async function current(emulator: Emulator): Promise<string | undefined> {
  const out = await ssmClient(emulator).send(new GetParameterCommand({ Name: NAME, WithDecryption: true })).catch(() => undefined);
  return out?.Parameter?.Value;
}

async function setup(): Promise<{ config: VolumeConfig; device: string }> {
  n += 1;
  const device = await images.blank(`reg-${n}`);
  await dev.link(`reg-${n}`, device);
  return { config: lifecycleConfig(router.url, { device: `/dev/reg-${n}`, fallbackRegions: ['us-west-2'] }), device };
}

describe.skipIf(!canRunCryptsetup)('replica regions (real cryptsetup)', () => {
  beforeAll(async () => {
    east = await startEmulator({ region: 'us-east-1' });
    west = await startEmulator({ region: 'us-west-2' });
    router = await startRegionRouter([east, west]);
    images = await createImageDir();
    dev = await createFakeDev();
  });
  afterAll(async () => {
    await router.stop();
    await Promise.all([east.stop(), west.stop()]);
    await images.cleanup();
    await dev.cleanup();
  });
  beforeEach(() => {
    east.reset();
    west.reset();
  });

  it('enroll writes the same passphrase to every region; with the first region down, start uses the replica', async () => {
    const { config, device } = await setup();
    await enrollVolume(lifecycleDeps(east, dev), config, { format: true });
    const value = await current(east);
    expect(value).toBeDefined();
    expect(await current(west)).toBe(value);
    east.faults.set({ serverErrors: { rate: 1 } });
    expect(await keyStartWouldUse(east, dev, { ...config, timeoutSec: 4 }, device)).toBe(`ssm:${NAME}@1`);
    expect(west.requests().some((r) => r.action === 'GetParameter' && r.status === 200)).toBe(true);
  });

  it('a replica that cannot be written stops rotate before any key slot changes; the next run copies it and finishes', async () => {
    const { config, device } = await setup();
    await enrollVolume(lifecycleDeps(east, dev), config, { format: true });
    const old = await current(east) as string;
    west.faults.set({ serverErrors: { rate: 1, match: 'ssm:PutParameter' } });
    await expect(rotateVolume(lifecycleDeps(east, dev), { ...config, timeoutSec: 2 })).rejects.toMatchObject({ kind: 'AWS_UNAVAILABLE' });
    expect(await testPassphrase(run, device, key(old))).toBe(true);
    expect(await current(west)).toBe(old);
    expect(await keyStartWouldUse(east, dev, config, device)).toBe(`ssm:${NAME}@1`);
    west.faults.reset();
    const report = await rotateVolume(lifecycleDeps(east, dev), config);
    expect(report.lines.slice(0, 2)).toEqual([`resuming an interrupted rotation of ${device}`, `copy version 2 of ${NAME} to us-west-2`]);
    const now = await current(east) as string;
    expect(now).not.toBe(old);
    expect(await current(west)).toBe(now);
    expect(await testPassphrase(run, device, key(old))).toBe(false);
    expect(await testPassphrase(run, device, key(now))).toBe(true);
  });
});
