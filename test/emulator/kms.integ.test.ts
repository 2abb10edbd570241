// KMS through the real SDK, and how SSM reads fail when the key behind a SecureString is unusable.
import {
  CreateAliasCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, DisableKeyCommand, DisabledException,
  EnableKeyCommand, EncryptCommand, GenerateRandomCommand, IncorrectKeyException, InvalidCiphertextException,
  KMSInvalidStateException, ListAliasesCommand, NotFoundException, ScheduleKeyDeletionCommand, type KMSClient,
} from '@aws-sdk/client-kms';
import { AccessDeniedException, GetParameterCommand, InvalidKeyId, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from './index.ts';
import { kmsClient, rejectionOf, ssmClient } from './sdk-clients.ts';

let emulator: Emulator;
let kms: KMSClient;
let ssm: SSMClient;

beforeAll(async () => {
  emulator = await startEmulator();
  kms = kmsClient(emulator);
  ssm = ssmClient(emulator);
});
afterAll(async () => {
  kms.destroy();
  ssm.destroy();
  await emulator.stop();
});
beforeEach(() => emulator.reset());

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('KMS keys', () => {
  it('CreateKey, CreateAlias, DescribeKey by id, ARN and alias, ListAliases', async () => {
    const created = await kms.send(new CreateKeyCommand({ Description: 'test key' }));
    const keyId = created.KeyMetadata?.KeyId as string;
    expect(created.KeyMetadata).toMatchObject({ KeyState: 'Enabled', Enabled: true, Arn: `arn:aws:kms:us-east-1:${emulator.accountId}:key/${keyId}` });
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/disk', TargetKeyId: keyId }));
    for (const ref of [keyId, created.KeyMetadata?.Arn, 'alias/disk', `arn:aws:kms:us-east-1:${emulator.accountId}:alias/disk`]) {
      expect((await kms.send(new DescribeKeyCommand({ KeyId: ref }))).KeyMetadata?.KeyId).toBe(keyId);
    }
    const aliases = await kms.send(new ListAliasesCommand({}));
    expect(aliases.Aliases?.map((a) => [a.AliasName, a.TargetKeyId])).toEqual([['alias/disk', keyId]]);
  });

  it('an EXTERNAL key starts PendingImport', async () => {
    const created = await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }));
    expect(created.KeyMetadata?.KeyState).toBe('PendingImport');
  });

  it('unknown keys and aliases are NotFoundException', async () => {
    expect(await rejectionOf(kms.send(new DescribeKeyCommand({ KeyId: 'alias/none' })))).toBeInstanceOf(NotFoundException);
    expect(await rejectionOf(kms.send(new DescribeKeyCommand({ KeyId: '00000000-0000-0000-0000-000000000000' })))).toBeInstanceOf(NotFoundException);
  });

  it('DisableKey, EnableKey and ScheduleKeyDeletion move the key state', async () => {
    const { keyId } = emulator.createKey();
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe('Disabled');
    await kms.send(new EnableKeyCommand({ KeyId: keyId }));
    const scheduled = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    expect(scheduled.KeyState).toBe('PendingDeletion');
    expect(await rejectionOf(kms.send(new EnableKeyCommand({ KeyId: keyId })))).toBeInstanceOf(KMSInvalidStateException);
  });

  it('GenerateRandom returns 1..1024 bytes and refuses 0 and 1025', async () => {
    expect((await kms.send(new GenerateRandomCommand({ NumberOfBytes: 1024 }))).Plaintext?.length).toBe(1024);
    for (const n of [0, 1025]) {
      expect((await rejectionOf(kms.send(new GenerateRandomCommand({ NumberOfBytes: n })))).name).toBe('ValidationException');
    }
  });
});

describe('KMS Encrypt/Decrypt', () => {
  it('round-trips with the right context, infers the key, refuses a wrong context', async () => {
    const { keyId, arn } = emulator.createKey({ alias: 'alias/ctx' });
    const context = { volume: 'data', host: 'h1' };
    const enc = await kms.send(new EncryptCommand({ KeyId: 'alias/ctx', Plaintext: bytes('secret\n'), EncryptionContext: context }));
    expect(enc.KeyId).toBe(arn);
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { host: 'h1', volume: 'data' } }));
    expect(Buffer.from(dec.Plaintext as Uint8Array).toString('utf8')).toBe('secret\n');
    expect(dec.KeyId).toBe(arn);
    const wrong = await rejectionOf(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { volume: 'other', host: 'h1' } })));
    expect(wrong).toBeInstanceOf(InvalidCiphertextException);
    expect(await rejectionOf(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })))).toBeInstanceOf(InvalidCiphertextException);
    const other = emulator.createKey();
    const incorrect = await rejectionOf(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: context, KeyId: other.keyId })));
    expect(incorrect).toBeInstanceOf(IncorrectKeyException);
    expect(keyId).not.toBe(other.keyId);
  });

  it('a disabled key is DisabledException; imported material expired is KMSInvalidStateException', async () => {
    const { keyId, arn } = emulator.createKey();
    const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: bytes('x') }));
    emulator.setKeyState(keyId, 'Disabled');
    const disabled = await rejectionOf(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })));
    expect(disabled).toBeInstanceOf(DisabledException);
    expect(disabled.message).toBe(`${arn} is disabled.`);
    emulator.setKeyState(keyId, 'PendingImport');
    const expired = await rejectionOf(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })));
    expect(expired).toBeInstanceOf(KMSInvalidStateException);
    emulator.setKeyState(keyId, 'Enabled');
    expect((await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).Plaintext?.length).toBe(1);
  });
});

describe('SSM reads when the SecureString key is unusable (see ssm-secure.ts for the evidence)', () => {
  const read = () => ssm.send(new GetParameterCommand({ Name: '/vol/key', WithDecryption: true }));

  beforeEach(async () => {
    emulator.createKey({ alias: 'alias/vol' });
    await ssm.send(new PutParameterCommand({ Name: '/vol/key', Value: 'pass', Type: 'SecureString', KeyId: 'alias/vol' }));
  });

  it('disabled key -> InvalidKeyId naming DisabledException', async () => {
    emulator.setKeyState('alias/vol', 'Disabled');
    const err = await rejectionOf(read());
    expect(err).toBeInstanceOf(InvalidKeyId);
    expect(err.message).toMatch(/ is disabled\. \(Service: AWSKMS; Status Code: 400; Error Code: DisabledException; /);
  });

  it('pending deletion -> InvalidKeyId naming KMSInvalidStateException', async () => {
    emulator.setKeyState('alias/vol', 'PendingDeletion');
    const err = await rejectionOf(read());
    expect(err).toBeInstanceOf(InvalidKeyId);
    expect(err.message).toMatch(/is pending deletion\. .*Error Code: KMSInvalidStateException/);
  });

  it('key deleted -> AccessDeniedException from KMS', async () => {
    emulator.deleteKey('alias/vol');
    const err = await rejectionOf(read());
    expect(err).toBeInstanceOf(AccessDeniedException);
    expect(err.message).toMatch(/^The ciphertext refers to a customer master key that does not exist/);
  });

  it('reads work again once the key is re-enabled', async () => {
    emulator.setKeyState('alias/vol', 'Disabled');
    await rejectionOf(read());
    emulator.setKeyState('alias/vol', 'Enabled');
    expect((await read()).Parameter?.Value).toBe('pass');
  });

  it('PutParameter under a missing key is InvalidKeyId', async () => {
    const err = await rejectionOf(ssm.send(new PutParameterCommand({ Name: '/vol/other', Value: 'v', Type: 'SecureString', KeyId: 'alias/missing' })));
    expect(err).toBeInstanceOf(InvalidKeyId);
    expect(err.message).toMatch(/alias\/missing is not found\./);
  });

  it('the value is bound to its parameter ARN: the blob does not decrypt with another context', async () => {
    const raw = await ssm.send(new GetParameterCommand({ Name: '/vol/key' }));
    const blob = Buffer.from(raw.Parameter?.Value as string, 'base64');
    const arn = `arn:aws:ssm:us-east-1:${emulator.accountId}:parameter/vol/key`;
    const ok = await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { PARAMETER_ARN: arn } }));
    expect(Buffer.from(ok.Plaintext as Uint8Array).toString('utf8')).toBe('pass');
    const wrong = await rejectionOf(kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { PARAMETER_ARN: `${arn}2` } })));
    expect(wrong).toBeInstanceOf(InvalidCiphertextException);
  });
});
