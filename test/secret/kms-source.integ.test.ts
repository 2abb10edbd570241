// KEY_SOURCE=kms end to end: enroll writes a token, the source decrypts it only under this volume's context; rotate is resumable.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { UnlockError } from '../../src/errors.ts';
import { testPassphrase } from '../../src/luks/cryptsetup.ts';
import { readLuksHeader } from '../../src/luks/keyslots.ts';
import { kmsTokensOf } from '../../src/luks/token.ts';
import { enrollVolume } from '../../src/lifecycle/enroll.ts';
import { rotateVolume } from '../../src/lifecycle/rotate.ts';
import type { VolumeConfig } from '../../src/types.ts';
import { createKeySource } from '../../src/lifecycle/key-source.ts';
import type { FetchedKey } from '../../src/secret/source.ts';
import { createRecordingLogger } from '../aws/fakes.ts';
import { realClock } from '../aws/real-clock.ts';
import { lifecycleConfig } from '../lifecycle/config.ts';
import { crashAfter, keyStartWouldUse, lifecycleDeps, useLifecycleWorld } from '../lifecycle/harness.ts';
import { canRunCryptsetup, key, run } from '../lifecycle/images.ts';

const world = useLifecycleWorld({ beforeEach: (emulator) => emulator.createKey({ alias: 'alias/luks' }) });
let n = 0;

async function setup(kind: 'blank' | 'luks', over: Partial<VolumeConfig> = {}): Promise<{ config: VolumeConfig; device: string }> {
  n += 1;
  const device = kind === 'blank' ? await world.images.blank(`kms-${n}`) : await world.images.luks(`kms-${n}`, 'admin-passphrase');
  await world.dev.link(`kms-${n}`, device);
  return { config: lifecycleConfig(world.emulator.url, { device: `/dev/kms-${n}`, keySource: 'kms', kmsKeyId: 'alias/luks', ...over }), device };
}

async function failureOf(promise: Promise<unknown>): Promise<UnlockError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(UnlockError);
  return error as UnlockError;
}

describe.skipIf(!canRunCryptsetup)('KMS ciphertext in a LUKS2 token (real cryptsetup)', () => {

  it('enroll --format writes one token bound to the LUKS UUID, and start opens the volume with it', async () => {
    const { config, device } = await setup('blank');
    await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { format: true });
    const [token, ...more] = kmsTokensOf(await readLuksHeader(run, device));
    expect(more).toEqual([]);
    const uuid = execFileSync('cryptsetup', ['luksUUID', device], { encoding: 'utf8' }).trim();
    expect(token).toMatchObject({ keyslots: [0], generation: 1, context: { 'luks-ssm:luks-uuid': uuid } });
    expect(token!.keyId).toMatch(/^arn:aws:kms:us-east-1:\d{12}:key\//);
    expect(await keyStartWouldUse(world.emulator, world.dev, config, device)).toBe(`kms-token:${token!.tokenId}@1`);
    expect(world.emulator.requests().filter((r) => r.action === 'Decrypt').map((r) => r.status)).toEqual([200]);
  });

  it('a warm-up gets the instance-profile credentials before the key is asked for, and keys() uses them', async () => {
    const { config, device } = await setup('blank');
    await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { format: true });
    const imdsOnly = { env: world.emulator.env({ withRegion: true, withCredentials: false }), clock: realClock, log: createRecordingLogger(), run, devRoot: world.dev.root };
    const firstKey = async (source: ReturnType<typeof createKeySource>) => {
      const keys = source.keys(Date.now() + 10_000);
      const first = await keys.next();
      await keys.return(undefined);
      const opens = await testPassphrase(run, device, (first.value as FetchedKey).secret);
      (first.value as FetchedKey).secret.wipe();
      return opens;
    };
    let since = world.emulator.requests().length;
    const actionsSince = () => world.emulator.requests().slice(since).map((r) => r.action);
    const imdsRequests = () => actionsSince().filter((a) => a === 'token' || a === 'credentials');
    expect(await firstKey(createKeySource(config, imdsOnly))).toBe(true);
    const cold = imdsRequests();
    since = world.emulator.requests().length;
    const source = createKeySource(config, imdsOnly);
    source.warmUp?.(Date.now() + 10_000);
    await expect.poll(imdsRequests, { timeout: 5000 }).toContain('credentials');
    expect(actionsSince()).not.toContain('Decrypt');
    expect(await firstKey(source)).toBe(true);
    // The same token and credential requests as without a warm-up: keys() used the warm-up's.
    expect(imdsRequests()).toEqual(cold);
  });

  it('a ciphertext copied to another volume does not decrypt: the context names a different LUKS UUID', async () => {
    const { config, device } = await setup('blank');
    await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { format: true });
    execFileSync('cryptsetup', ['luksUUID', '-q', '--uuid', '0b6d6a2c-3c1e-4f55-9d4e-2f7f3a1c9e11', device]);
    const error = await failureOf(keyStartWouldUse(world.emulator, world.dev, config, device));
    expect(error.kind).toBe('AWS_DENIED');
    expect(error.message).toBe(`Failed to decrypt LUKS2 token 0 of ${device} with KMS: the ciphertext does not belong to this volume (luks-ssm:luks-uuid differ)`);
  });

  it('KMS_CONTEXT_INSTANCE_ID=yes binds the ciphertext to the instance id as well', async () => {
    const { config, device } = await setup('blank', { kmsContextInstanceId: true });
    await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { format: true });
    const [token] = kmsTokensOf(await readLuksHeader(run, device));
    expect(token!.context['luks-ssm:instance-id']).toBe(world.emulator.instanceId);
    expect(await keyStartWouldUse(world.emulator, world.dev, config, device)).toBe('kms-token:0@1');
    expect((await failureOf(keyStartWouldUse(world.emulator, world.dev, { ...config, kmsContextInstanceId: false }, device))).kind).toBe('AWS_DENIED');
  });

  it('a disabled key and a denied kms:Decrypt are one clear line each', async () => {
    const { config, device } = await setup('blank');
    await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { format: true });
    world.emulator.faults.set({ denyActions: ['kms:Decrypt'] });
    const denied = await failureOf(keyStartWouldUse(world.emulator, world.dev, config, device));
    expect([denied.kind, denied.message]).toEqual(['AWS_DENIED', expect.stringMatching(/access denied to kms:Decrypt on arn:aws:kms:/)]);
    world.emulator.faults.reset();
    world.emulator.setKeyState('alias/luks', 'Disabled');
    const disabled = await failureOf(keyStartWouldUse(world.emulator, world.dev, config, device));
    expect([disabled.kind, disabled.hint]).toEqual(['KMS_KEY_UNUSABLE', expect.stringMatching(/^enable it: aws kms enable-key --key-id arn:aws:kms:/)]);
  });

  // Whoever can write the header could name a key of their own (and its ciphertext of a passphrase they know):
  // with KMS_KEY_ID set, start decrypts only under that key (issue #10, item 13).
  it('KMS_KEY_ID pins start to that key: a header naming another key is refused with both key ids, before any Decrypt', async () => {
    const { config, device } = await setup('blank');
    await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { format: true });
    const [token] = kmsTokensOf(await readLuksHeader(run, device));
    const other = world.emulator.createKey({ alias: 'alias/other' });
    const decrypts = () => world.emulator.requests().filter((r) => r.action === 'Decrypt').length;
    const before = decrypts();
    for (const pinned of [other.arn, other.keyId]) {
      const error = await failureOf(keyStartWouldUse(world.emulator, world.dev, { ...config, kmsKeyId: pinned }, device));
      expect([error.kind, error.exitCode, error.message]).toEqual(['CONFIG', 78,
        `${device}: LUKS2 token ${token!.tokenId} is encrypted under KMS key ${token!.keyId}, but KMS_KEY_ID=${pinned}, refusing.`]);
    }
    expect(decrypts()).toBe(before);
    // An alias can only be resolved by KMS: Decrypt is sent with it as KeyId, and KMS refuses another key's ciphertext.
    const error = await failureOf(keyStartWouldUse(world.emulator, world.dev, { ...config, kmsKeyId: 'alias/other' }, device));
    expect([error.kind, error.message]).toEqual(['CONFIG',
      `${device}: LUKS2 token ${token!.tokenId} is encrypted under KMS key ${token!.keyId}, but KMS_KEY_ID=alias/other, refusing.`]);
    // The key it was enrolled under, by ARN, id or alias, still opens it.
    const keyId = token!.keyId.replace(/^.*:key\//, '');
    for (const pinned of [token!.keyId, keyId, 'alias/luks']) {
      expect(await keyStartWouldUse(world.emulator, world.dev, { ...config, kmsKeyId: pinned }, device)).toBe(`kms-token:${token!.tokenId}@1`);
    }
  });

  it('a volume without a token is a config error naming the fix; KEY_SOURCE=kms without KMS_KEY_ID refuses to enroll', async () => {
    const { config, device } = await setup('luks');
    const error = await failureOf(keyStartWouldUse(world.emulator, world.dev, config, device));
    expect([error.kind, error.message]).toEqual(['CONFIG', `${device} has no luks-ssm-kms token, but KEY_SOURCE=kms`]);
    const noKey = { ...config, kmsKeyId: undefined };
    expect((await failureOf(enrollVolume(lifecycleDeps(world.emulator, world.dev), noKey, { addToExisting: true, existingKey: async () => key('admin-passphrase') }))).kind).toBe('CONFIG');
  });

  it('--add-to-existing: a pending token, the key slot, then the token assigned; the admin passphrase still opens', async () => {
    const { config, device } = await setup('luks');
    await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { addToExisting: true, existingKey: async () => key('admin-passphrase') });
    expect(kmsTokensOf(await readLuksHeader(run, device)).map((t) => t.keyslots)).toEqual([[1]]);
    expect(await testPassphrase(run, device, key('admin-passphrase'))).toBe(true);
    // Assigning copies the pending token 0 (with its slot) to a free id, then removes token 0: no --token-replace (2.5+).
    expect(await keyStartWouldUse(world.emulator, world.dev, config, device)).toBe('kms-token:1@1');
  });

  it('--add-to-existing interrupted after the token is written resumes with that token', async () => {
    const { config, device } = await setup('luks');
    await expect(enrollVolume(lifecycleDeps(world.emulator, world.dev, { afterStep: crashAfter('store') }), config, { addToExisting: true, existingKey: async () => key('admin-passphrase') })).rejects.toThrow();
    expect(kmsTokensOf(await readLuksHeader(run, device)).map((t) => t.keyslots)).toEqual([[]]);
    await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { addToExisting: true, existingKey: async () => key('admin-passphrase') });
    expect(kmsTokensOf(await readLuksHeader(run, device)).map((t) => [t.tokenId, t.keyslots])).toEqual([[1, [1]]]);
  });

  it.each(['generate', 'store', 'add-key', 'verify', 'bind', 'remove-old'])('rotate interrupted after %s: start still opens, rotate again leaves one token', async (crashStep) => {
    const { config, device } = await setup('blank');
    await enrollVolume(lifecycleDeps(world.emulator, world.dev), config, { format: true });
    await expect(rotateVolume(lifecycleDeps(world.emulator, world.dev, { afterStep: crashAfter(crashStep) }), config)).rejects.toThrow();
    expect(await keyStartWouldUse(world.emulator, world.dev, config, device)).toMatch(/^kms-token:\d@\d$/);
    await rotateVolume(lifecycleDeps(world.emulator, world.dev), config);
    const tokens = kmsTokensOf(await readLuksHeader(run, device));
    expect(tokens).toHaveLength(1);
    expect((await readLuksHeader(run, device)).keyslots).toEqual(tokens[0]!.keyslots);
    expect(await keyStartWouldUse(world.emulator, world.dev, config, device)).toBe(`kms-token:${tokens[0]!.tokenId}@${tokens[0]!.generation}`);
  });
});
