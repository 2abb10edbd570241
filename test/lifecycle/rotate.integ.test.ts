// rotate with SSM: real cryptsetup on images, the real SDK against the emulator, a crash injected after every step.
import { describe, expect, it } from 'vitest';
import { testPassphrase } from '../../src/luks/cryptsetup.ts';
import { addKey, readLuksHeader } from '../../src/luks/keyslots.ts';
import { rotateVolume } from '../../src/lifecycle/rotate.ts';
import type { VolumeConfig } from '../../src/types.ts';
import { lifecycleConfig } from './config.ts';
import { crashAfter, keyStartWouldUse, lifecycleDeps, useLifecycleWorld } from './harness.ts';
import { canRunCryptsetup, key, run } from './images.ts';
import { ssmClient } from '../emulator/sdk-clients.ts';
import { checkVolume } from '../../src/volume/check.ts';
import { createKeySource } from '../../src/lifecycle/key-source.ts';
import { createRecordingLogger } from '../aws/fakes.ts';
import { realClock } from '../aws/real-clock.ts';
import { credentialsEnv } from './config.ts';
import { GetParameterHistoryCommand } from '@aws-sdk/client-ssm';

const NAME = '/luks/data';
const STEPS = ['generate', 'store', 'add-key', 'verify', 'bind', 'remove-old'];
const world = useLifecycleWorld();
let n = 0;

/** Every version of the parameter, oldest first, as text (the emulator's own view). */
async function versions(): Promise<string[]> {
  const out = await ssmClient(world.emulator).send(new GetParameterHistoryCommand({ Name: NAME, WithDecryption: true }));
  return (out.Parameters ?? []).map((p) => p.Value as string);
}

/** A fresh volume: LUKS2 with the v1 key in slot 0 and an admin's recovery passphrase in slot 1. */
async function volume(): Promise<{ config: VolumeConfig; device: string }> {
  n += 1;
  const device = await world.images.luks(`rot-${n}`, 'v1-key');
  await addKey(run, device, key('v1-key'), key('recovery'), { type: 'pbkdf2', forceIterations: 1000 });
  await world.dev.link(`rot-${n}`, device);
  world.emulator.putParameter(NAME, 'v1-key');
  return { config: lifecycleConfig(world.emulator.url, { device: `/dev/rot-${n}` }), device };
}

/** The settled end state: only the newest version opens (plus the untouched recovery slot). */
async function expectSettled(device: string): Promise<void> {
  const all = await versions();
  const newest = all.at(-1) as string;
  expect(await testPassphrase(run, device, key(newest))).toBe(true);
  for (const old of all.slice(0, -1)) if (old !== newest) expect(await testPassphrase(run, device, key(old))).toBe(false);
  expect(await testPassphrase(run, device, key('recovery'))).toBe(true);
  expect((await readLuksHeader(run, device)).keyslots).toHaveLength(2);
}

describe.skipIf(!canRunCryptsetup)('rotate (SSM, real cryptsetup)', () => {

  it('writes a new 88-character version, adds it, proves it, removes the old slot; the recovery slot stays', async () => {
    const { config, device } = await volume();
    const deps = lifecycleDeps(world.emulator, world.dev);
    const report = await rotateVolume(deps, config);
    const all = await versions();
    expect(all).toHaveLength(2);
    expect(all[1]).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    expect(report.lines).toEqual([
      'generated a new passphrase with KMS GenerateRandom',
      `stored the new passphrase in SSM parameter ${NAME}`,
      `added version 2 to ${device}, authorised by version 1`,
      `version 2 opens key slot 2 of ${device}`,
      'version 2 is recorded for key slot 2',
      `removed key slot 0 (version 1) of ${device}`,
    ]);
    await expectSettled(device);
    expect(JSON.stringify(deps.log.lines)).not.toContain(all[1]);
  });

  it('rotates again and again: each run leaves exactly one luks-ssm slot', async () => {
    const { config, device } = await volume();
    for (let i = 0; i < 3; i += 1) await rotateVolume(lifecycleDeps(world.emulator, world.dev), config);
    expect(await versions()).toHaveLength(4);
    await expectSettled(device);
  });

  it.each(STEPS)('a crash after %s never locks the volume out, and running rotate again completes', async (crashStep) => {
    const { config, device } = await volume();
    await expect(rotateVolume(lifecycleDeps(world.emulator, world.dev, { afterStep: crashAfter(crashStep) }), config)).rejects.toThrow(`simulated crash after ${crashStep}`);
    expect(await keyStartWouldUse(world.emulator, world.dev, config, device)).toMatch(/^ssm:\/luks\/data@\d$/);
    const again = await rotateVolume(lifecycleDeps(world.emulator, world.dev), config);
    expect(again.changed).toBe(true);
    await expectSettled(device);
    expect(await keyStartWouldUse(world.emulator, world.dev, config, device)).toBe(`ssm:${NAME}@${(await versions()).length}`);
  });

  it('a crash after store: start falls back to version 1, and the resumed run says it is resuming', async () => {
    const { config, device } = await volume();
    await expect(rotateVolume(lifecycleDeps(world.emulator, world.dev, { afterStep: crashAfter('store') }), config)).rejects.toThrow();
    expect(await keyStartWouldUse(world.emulator, world.dev, config, device)).toBe(`ssm:${NAME}@1`);
    const report = await rotateVolume(lifecycleDeps(world.emulator, world.dev), config);
    expect(report.lines[0]).toBe(`resuming an interrupted rotation of ${device}`);
    expect(await versions()).toHaveLength(2);
  });

  it('check after an interrupted rotation: a warning (not ok), naming the version that opens and how to finish', async () => {
    const { config, device } = await volume();
    await expect(rotateVolume(lifecycleDeps(world.emulator, world.dev, { afterStep: crashAfter('store') }), config)).rejects.toThrow();
    const log = createRecordingLogger();
    const deps = {
      run, clock: realClock, log, runDir: world.dev.root, devRoot: world.dev.root,
      acquireLock: async () => ({ release: async () => {} }), acquireVolumeLock: async () => ({ release: async () => {} }),
      acquireDeviceLock: async () => ({ release: async () => {} }), runUnderHostLock: () => run,
      keySource: (c: VolumeConfig) => createKeySource(c, { env: credentialsEnv(world.emulator), clock: realClock, log, run, devRoot: world.dev.root }),
      activeDependents: async () => [], unitOfPid: async () => undefined,
    };
    const report = await checkVolume(deps, config);
    expect(report.failure).toBeUndefined();
    expect(report.steps.find((s) => s.name === 'key')).toMatchObject({
      ok: true,
      warn: true,
      detail: `ssm:${NAME} version 2 (us-east-1): 88 bytes, opens no keyslot of ${device}, but the earlier ssm:${NAME} version 1 (us-east-1): 6 bytes does: an interrupted rotation, which start falls back from at every boot`,
      hint: 'run luks-ssm rotate data to finish it',
    });
  });

  it('--dry-run says what it would do and changes nothing', async () => {
    const { config, device } = await volume();
    const report = await rotateVolume(lifecycleDeps(world.emulator, world.dev), config, { dryRun: true });
    expect(report.changed).toBe(false);
    expect(report.lines).toEqual([
      'now: version 1: opens key slot 0',
      'would generate a new passphrase with KMS GenerateRandom',
      'would store it as the newest key',
      `would add a new passphrase to a free key slot of ${device}`,
      'would verify a new passphrase opens its key slot',
      'would remove key slot 0 (version 1)',
    ]);
    expect(await versions()).toEqual(['v1-key']);
    expect((await readLuksHeader(run, device)).keyslots).toEqual([0, 1]);
  });

  it('refuses when no stored key opens the device, and with a pinned version', async () => {
    const { config } = await volume();
    world.emulator.putParameter(NAME, 'unrelated');
    world.emulator.putParameter(NAME, 'also-unrelated');
    await expect(rotateVolume(lifecycleDeps(world.emulator, world.dev), { ...config, ssmHistoryFallback: 1 })).rejects.toMatchObject({ kind: 'WRONG_PASSPHRASE' });
    await expect(rotateVolume(lifecycleDeps(world.emulator, world.dev), { ...config, ssmSelector: { version: 1 } })).rejects.toMatchObject({ kind: 'CONFIG' });
  });
});
