// Key slots for generated keys get the minimal PBKDF (PBKDF2-SHA512, 1000 iterations); explicit LUKS_PBKDF* and
// keys a person chose keep theirs; rotate moves an expensive old slot to the minimal one. Real cryptsetup, emulator.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { enrollVolume } from '../../src/lifecycle/enroll.ts';
import { rotateVolume } from '../../src/lifecycle/rotate.ts';
import { readSlotKdfs } from '../../src/luks/header.ts';
import type { VolumeConfig } from '../../src/types.ts';
import { lifecycleConfig } from './config.ts';
import { keyStartWouldUse, lifecycleDeps, useLifecycleWorld } from './harness.ts';
import { canRunCryptsetup, key, run } from './images.ts';

const NAME = '/luks/data';
const MINIMAL = { type: 'pbkdf2', hash: 'sha512', iterations: 1000 };
const world = useLifecycleWorld();
let n = 0;

/** The config as an admin writes it: no LUKS_PBKDF* keys (the lifecycle tests' default forces a fast pbkdf2). */
function unsetPbkdf(config: VolumeConfig): VolumeConfig {
  const { pbkdf: _ignored, ...rest } = config;
  return rest;
}

async function device(kind: 'blank' | 'argon2', over: Partial<VolumeConfig> = {}): Promise<{ config: VolumeConfig; device: string }> {
  n += 1;
  const image = await world.images.blank(`kdf-${n}`);
  if (kind === 'argon2') {
    // Made as on an admin's host: cryptsetup itself, argon2id with 32 MiB (small enough for a test).
    const keyFile = join(world.images.dir, `kdf-${n}.key`);
    await writeFile(keyFile, 'admin-passphrase');
    const r = await run('cryptsetup', ['luksFormat', '--batch-mode', '--type', 'luks2', '--pbkdf', 'argon2id', '--pbkdf-memory', '32768', '--pbkdf-force-iterations', '4', `--key-file=${keyFile}`, image]);
    expect(r.exitCode, r.stderr).toBe(0);
  }
  await world.dev.link(`kdf-${n}`, image);
  return { config: unsetPbkdf(lifecycleConfig(world.emulator.url, { device: `/dev/kdf-${n}`, ...over })), device: image };
}

describe.skipIf(!canRunCryptsetup)('key slot PBKDF (real cryptsetup)', () => {
  it('enroll --format: the generated key\'s slot is PBKDF2-SHA512 with 1000 iterations', async () => {
    const { config, device: image } = await device('blank');
    await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { format: true });
    expect(await readSlotKdfs(run, image)).toEqual([{ slot: 0, ...MINIMAL }]);
  });

  it('enroll --add-to-existing: the new slot is minimal, the admin\'s argon2id slot is untouched', async () => {
    const { config, device: image } = await device('argon2');
    await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { addToExisting: true, existingKey: async () => key('admin-passphrase') });
    expect(await readSlotKdfs(run, image)).toEqual([
      { slot: 0, type: 'argon2id', timeCost: 4, memoryKib: 32768, threads: expect.any(Number) },
      { slot: 1, ...MINIMAL },
    ]);
  });

  it('explicit LUKS_PBKDF* settings win over the minimal PBKDF', async () => {
    const { config, device: image } = await device('blank');
    await enrollVolume(lifecycleDeps(world.emulator, world.dev), { ...config, pbkdf: { type: 'argon2i', memoryKib: 32768, forceIterations: 4 } }, { format: true });
    expect(await readSlotKdfs(run, image)).toEqual([{ slot: 0, type: 'argon2i', timeCost: 4, memoryKib: 32768, threads: expect.any(Number) }]);
  });

  it('a key a person chose (already in the parameter) keeps cryptsetup\'s default argon2id', async () => {
    const { config, device: image } = await device('blank');
    world.emulator.putParameter(NAME, 'correct horse battery staple');
    await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { format: true });
    const [slot] = await readSlotKdfs(run, image);
    expect(slot).toMatchObject({ slot: 0, type: 'argon2id' });
  });

  it('rotate moves a volume off an expensive argon2id slot: the new slot is minimal, the old one is gone', async () => {
    const { config, device: image } = await device('argon2');
    world.emulator.putParameter(NAME, 'admin-passphrase');
    await rotateVolume(lifecycleDeps(world.emulator, world.dev), config);
    expect(await readSlotKdfs(run, image)).toEqual([{ slot: 1, ...MINIMAL }]);
    expect(await keyStartWouldUse(world.emulator, world.dev, config, image)).toBe(`ssm:${NAME}@2`);
  });
});
