// check's kms-key step against the emulator: each key state is one line with its fix; a denied Describe* names the action.
import { describe, expect, it } from 'vitest';
import { UnlockError } from '../../src/errors.ts';
import { checkVolumeKmsKey } from '../../src/lifecycle/key-source.ts';
import { judgeKey } from '../../src/lifecycle/kms-check.ts';
import { createRecordingLogger } from '../aws/fakes.ts';
import { realClock } from '../aws/real-clock.ts';
import { useEmulator } from '../emulator/use-emulator.ts';
import { credentialsEnv, lifecycleConfig } from './config.ts';
import { run } from './images.ts';

let arn: string;
const world = useEmulator({
  beforeEach: (emulator) => {
    arn = emulator.createKey({ alias: 'alias/luks' }).arn;
    emulator.putParameter('/luks/data', 'passphrase', { keyId: 'alias/luks' });
  },
});

const check = () => checkVolumeKmsKey(lifecycleConfig(world.emulator.url), { env: credentialsEnv(world.emulator), clock: realClock, log: createRecordingLogger(), run }, Date.now() + 10_000);

async function failure(): Promise<UnlockError> {
  const error = await check().then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(UnlockError);
  return error as UnlockError;
}

describe('kms-key step', () => {
  it('names the parameter\'s own key when it is enabled', async () => {
    expect(await check()).toBe(`KMS key ${arn} is enabled`);
  });

  it.each([
    ['Disabled', 'is disabled', `enable it: aws kms enable-key --key-id ARN`],
    ['PendingDeletion', 'is pending deletion (scheduled for ', 'cancel it: aws kms cancel-key-deletion --key-id ARN && aws kms enable-key --key-id ARN'],
    ['PendingImport', 'has no key material (PendingImport)', 'import it again: aws kms get-parameters-for-import --key-id ARN …, then aws kms import-key-material --key-id ARN …'],
  ] as const)('%s: one line and the command that fixes it', async (state, phrase, hint) => {
    world.emulator.setKeyState('alias/luks', state);
    const error = await failure();
    expect(error.kind).toBe('KMS_KEY_UNUSABLE');
    expect(error.message.startsWith(`KMS key ${arn} ${phrase}`)).toBe(true);
    expect(error.hint).toBe(hint.replaceAll('ARN', arn));
  });

  it('an imported key (EXTERNAL) without material says it was never imported or expired', async () => {
    world.emulator.seed({ keys: [{ alias: 'alias/byok', origin: 'EXTERNAL' }] });
    const error = await checkVolumeKmsKey(lifecycleConfig(world.emulator.url, { keySource: 'ssm', kmsKeyId: 'alias/byok', ssmPath: 'arn:aws:ssm:us-east-1:444455556666:parameter/shared' }),
      { env: credentialsEnv(world.emulator), clock: realClock, log: createRecordingLogger(), run }, Date.now() + 10_000).then(() => undefined, (e: unknown) => e as UnlockError);
    expect(error?.message).toMatch(/^KMS key arn:aws:kms:\S+ has no key material: it was never imported, or the imported material expired$/);
  });

  it('a denied kms:DescribeKey or ssm:DescribeParameters names the action to allow and does not fail', async () => {
    world.emulator.faults.set({ denyActions: ['kms:DescribeKey'] });
    expect(await check()).toMatch(/^cannot tell the key's state: Failed to describe KMS key alias\/luks: access denied to kms:DescribeKey on /);
    world.emulator.faults.set({ denyActions: ['ssm:DescribeParameters'] });
    expect(await check()).toMatch(/^cannot tell the key's state: Failed to describe SSM parameter \/luks\/data: access denied to ssm:DescribeParameters on /);
  });
});

describe('judgeKey', () => {
  it('warns ahead of imported key material expiring', () => {
    const line = judgeKey({ Arn: 'arn:k', KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: new Date('2026-03-11T00:00:00Z') }, 'k', Date.parse('2026-03-01T00:00:00Z'));
    expect(line).toBe('KMS key arn:k is enabled; its imported key material expires on 2026-03-11 (in 10 days): re-import it before then');
  });
});
