// enroll with SSM: real cryptsetup on images, the real SDK against the emulator: format, add-to-existing, refusals, resume.
import { writeFile } from 'node:fs/promises';
import { GetParameterHistoryCommand, ListTagsForResourceCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { isLuks, testPassphrase } from '../../src/luks/cryptsetup.ts';
import { readLuksHeader } from '../../src/luks/keyslots.ts';
import { enrollVolume } from '../../src/lifecycle/enroll.ts';
import type { VolumeConfig } from '../../src/types.ts';
import { ssmClient } from '../emulator/sdk-clients.ts';
import { lifecycleConfig } from './config.ts';
import { crashAfter, keyStartWouldUse, lifecycleDeps, useLifecycleWorld } from './harness.ts';
import { canRunCryptsetup, key, run } from './images.ts';

const NAME = '/luks/data';
const world = useLifecycleWorld();
let n = 0;

async function history(): Promise<Array<{ value: string; keyId: string | undefined; description: string | undefined }>> {
  const out = await ssmClient(world.emulator).send(new GetParameterHistoryCommand({ Name: NAME, WithDecryption: true })).catch((error: Error) => {
    if (error.name === 'ParameterNotFound') return { Parameters: [] };
    throw error;
  });
  return (out.Parameters ?? []).map((p) => ({ value: p.Value as string, keyId: p.KeyId, description: p.Description }));
}

async function setup(kind: 'blank' | 'luks', over: Partial<VolumeConfig> = {}): Promise<{ config: VolumeConfig; device: string }> {
  n += 1;
  const device = kind === 'blank' ? await world.images.blank(`enr-${n}`) : await world.images.luks(`enr-${n}`, 'admin-passphrase');
  await world.dev.link(`enr-${n}`, device);
  return { config: lifecycleConfig(world.emulator.url, { device: `/dev/enr-${n}`, ...over }), device };
}

describe.skipIf(!canRunCryptsetup)('enroll (SSM, real cryptsetup)', () => {

  it('--format: stores a fresh SecureString first, formats the blank device with it, and start would open it', async () => {
    const { config, device } = await setup('blank', { kmsKeyId: 'alias/luks' });
    world.emulator.createKey({ alias: 'alias/luks' });
    const deps = lifecycleDeps(world.emulator, world.dev);
    const report = await enrollVolume(deps, config, { format: true });
    expect(report.lines).toEqual([
      `stored a new passphrase from KMS GenerateRandom in SSM parameter ${NAME}`,
      `formatted ${device} as LUKS2 with version 1`,
      `version 1 opens key slot 0 of ${device}`,
      'version 1 is recorded for key slot 0',
    ]);
    const [stored] = await history();
    expect(stored).toMatchObject({ keyId: 'alias/luks', description: `LUKS passphrase of volume data (${device}) on test-host, written by luks-ssm` });
    expect(stored!.value).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    const tags = await ssmClient(world.emulator).send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: NAME }));
    expect(tags.TagList).toEqual([{ Key: 'luks-ssm:host', Value: 'test-host' }, { Key: 'luks-ssm:volume', Value: 'data' }]);
    expect(await testPassphrase(run, device, key(stored!.value))).toBe(true);
    expect(await keyStartWouldUse(world.emulator, world.dev, config, device)).toBe(`ssm:${NAME}@1`);
    expect(JSON.stringify(deps.log.lines)).not.toContain(stored!.value);
  });

  it('is idempotent: enrolling again says so and changes nothing', async () => {
    const { config, device } = await setup('blank');
    await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { format: true });
    const again = await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { format: true });
    expect(again.changed).toBe(false);
    expect(again.lines).toEqual([`${device} is already enrolled: version 1 of SSM parameter ${NAME} opens key slot 0`]);
    expect(await history()).toHaveLength(1);
  });

  it('a crash between PutParameter and luksFormat: the device is untouched, and enroll resumes with the stored key', async () => {
    const { config, device } = await setup('blank');
    await expect(enrollVolume(lifecycleDeps(world.emulator, world.dev, { afterStep: crashAfter('store') }), config, { format: true })).rejects.toThrow();
    expect(await isLuks(run, device)).toBe(false);
    const report = await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { format: true });
    expect(report.lines[0]).toBe(`SSM parameter ${NAME} already holds version 1, which opens nothing on ${device} yet: using it (pass --force for a new one)`);
    expect(await history()).toHaveLength(1);
    expect(await keyStartWouldUse(world.emulator, world.dev, config, device)).toBe(`ssm:${NAME}@1`);
  });

  it('an existing parameter is never overwritten without --force; with it, a new version', async () => {
    const { config, device } = await setup('blank');
    world.emulator.putParameter(NAME, 'someone-elses');
    await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { format: true, dryRun: true });
    expect(await history()).toHaveLength(1);
    await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { format: true, force: true });
    const all = await history();
    expect(all.map((h) => h.value === 'someone-elses')).toEqual([true, false]);
    expect(await testPassphrase(run, device, key(all[1]!.value))).toBe(true);
  });

  it('refuses to format anything that is not blank', async () => {
    const fs = await setup('blank');
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfs.ext4', ['-q', '-F', fs.device]);
    await expect(enrollVolume(lifecycleDeps(world.emulator, world.dev), fs.config, { format: true, force: true })).rejects.toMatchObject({
      kind: 'MOUNT_REFUSED', message: `${fs.device} is not blank (it has a ext4 signature), refusing to format it`,
    });
    const raw = await setup('blank');
    await writeFile(raw.device, Buffer.from('random-looking data'), { flag: 'r+' });
    await expect(enrollVolume(lifecycleDeps(world.emulator, world.dev), raw.config, { format: true })).rejects.toMatchObject({ kind: 'MOUNT_REFUSED', hint: 'if you are sure it holds nothing, pass --force' });
    const luks = await setup('luks');
    await expect(enrollVolume(lifecycleDeps(world.emulator, world.dev), luks.config, { format: true })).rejects.toMatchObject({ kind: 'MOUNT_REFUSED' });
    expect(await history()).toEqual([]);
    expect(await testPassphrase(run, luks.device, key('admin-passphrase'))).toBe(true);
  });

  it('--add-to-existing: a second key slot, authorised by the admin passphrase, which keeps working', async () => {
    const { config, device } = await setup('luks');
    const report = await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { addToExisting: true, existingKey: async () => key('admin-passphrase') });
    expect(report.lines[1]).toBe(`added version 1 to ${device}, authorised by the existing passphrase`);
    expect((await readLuksHeader(run, device)).keyslots).toEqual([0, 1]);
    expect(await testPassphrase(run, device, key('admin-passphrase'))).toBe(true);
    expect(await keyStartWouldUse(world.emulator, world.dev, config, device)).toBe(`ssm:${NAME}@1`);
  });

  it('--add-to-existing asks for the existing passphrase only once the device is a LUKS volume that needs it', async () => {
    const asked: string[] = [];
    const ask = (what: string) => async () => (asked.push(what), key('admin-passphrase'));
    const blank = await setup('blank');
    await expect(enrollVolume(lifecycleDeps(world.emulator, world.dev), blank.config, { addToExisting: true, existingKey: ask('blank') })).rejects.toMatchObject({ kind: 'NOT_LUKS' });
    const luks = await setup('luks');
    await enrollVolume(lifecycleDeps(world.emulator, world.dev), luks.config, { addToExisting: true, existingKey: ask('first enroll') });
    const again = await enrollVolume(lifecycleDeps(world.emulator, world.dev), luks.config, { addToExisting: true, existingKey: ask('already enrolled') });
    expect(again.changed).toBe(false);
    expect(asked).toEqual(['first enroll']);
  });

  it('--add-to-existing with a wrong passphrase stores nothing', async () => {
    const { config, device } = await setup('luks');
    await expect(enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { addToExisting: true, existingKey: async () => key('wrong') })).rejects.toMatchObject({
      kind: 'WRONG_PASSPHRASE', message: `The existing passphrase given opens no key slot of ${device}, refusing`,
    });
    expect(await history()).toEqual([]);
  });

  it('--add-to-existing with the passphrase plus a line break (echo): 80, the newline kept, and a hint that says so', async () => {
    const { config, device } = await setup('luks');
    const deps = lifecycleDeps(world.emulator, world.dev);
    const refused = await enrollVolume(deps, config, { addToExisting: true, existingKey: async () => key('admin-passphrase\n') }).catch((error: unknown) => error);
    expect(refused).toMatchObject({
      kind: 'WRONG_PASSPHRASE', message: `The existing passphrase given opens no key slot of ${device}, refusing`, hint: expect.stringMatching(/ends with a line break.*printf/),
    });
    expect(await history()).toEqual([]);
    expect(JSON.stringify([refused, deps.log.lines])).not.toContain('admin-passphrase');
    // Without the line break it was a wrong passphrase, not a newline: no hint that would mislead.
    await expect(enrollVolume(deps, config, { addToExisting: true, existingKey: async () => key('wrong') })).rejects.toMatchObject({ hint: undefined });
  });

  it('--add-to-existing --dry-run tests the existing passphrase: a wrong one fails as the real run would, a right one plans', async () => {
    const { config, device } = await setup('luks');
    await expect(enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { addToExisting: true, dryRun: true, existingKey: async () => key('wrong') })).rejects.toMatchObject({
      kind: 'WRONG_PASSPHRASE', message: `The existing passphrase given opens no key slot of ${device}, refusing`,
    });
    const plan = await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { addToExisting: true, dryRun: true, existingKey: async () => key('admin-passphrase') });
    expect(plan.lines).toEqual([
      `the existing passphrase opens key slot 0 of ${device}`,
      `would generate a passphrase with KMS GenerateRandom and store it in SSM parameter ${NAME}`,
      `would add it to a free key slot of ${device}, authorised by the existing passphrase`,
      'would verify it opens its key slot',
    ]);
    expect(plan.changed).toBe(false);
    expect(await history()).toEqual([]);
    expect((await readLuksHeader(run, device)).keyslots).toEqual([0]);
  });

  it('flags: exactly one of --format and --add-to-existing; --dry-run changes nothing', async () => {
    const { config, device } = await setup('blank');
    await expect(enrollVolume(lifecycleDeps(world.emulator, world.dev), config, {})).rejects.toMatchObject({ kind: 'USAGE' });
    await expect(enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { format: true, addToExisting: true })).rejects.toMatchObject({ kind: 'USAGE' });
    const plan = await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { format: true, dryRun: true });
    expect(plan.lines).toEqual([
      `would generate a passphrase with KMS GenerateRandom and store it in SSM parameter ${NAME}`,
      `would format ${device} as LUKS2 with it`,
      'would verify it opens its key slot',
    ]);
    expect(plan.changed).toBe(false);
    expect(await history()).toEqual([]);
    expect(await isLuks(run, device)).toBe(false);
  });
});
