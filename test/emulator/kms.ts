// KMS actions (TrentService.<Action>) over the emulated key store.
import { randomBytes } from 'node:crypto';
import type { ActionHandler } from './context.ts';
import { AwsError, validation } from './errors.ts';
import { decryptBlob, encryptWith, PLAINTEXT_MAX_BYTES } from './kms-cipher.ts';
import { addAlias, aliasArn, createKey, findKey } from './kms-keys.ts';
import { optionalNumber, optionalString, optionalStringMap, requireBlob, requireString, type Input } from './input.ts';
import type { KmsKey, State } from './store.ts';

const seconds = (ms: number): number => ms / 1000;

function keyMetadata(state: State, key: KmsKey): Record<string, unknown> {
  return {
    AWSAccountId: state.accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: seconds(key.created),
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeyState: key.state,
    Origin: key.origin,
    KeyManager: key.manager,
    CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
    KeySpec: 'SYMMETRIC_DEFAULT',
    EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    MultiRegion: false,
    ...(key.deletionDate === undefined ? {} : { DeletionDate: seconds(key.deletionDate), PendingDeletionWindowInDays: key.pendingWindowInDays }),
  };
}

/** EnableKey, DisableKey and ScheduleKeyDeletion take a key id or key ARN, never an alias. */
function keyById(state: State, input: Input): KmsKey {
  return findKey(state, requireString(input, 'KeyId'), false);
}

function rejectPendingDeletion(key: KmsKey): void {
  if (key.state === 'PendingDeletion') throw new AwsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
}

export const KMS_ACTIONS: Record<string, ActionHandler> = {
  CreateKey: ({ state }, input) => {
    const origin = optionalString(input, 'Origin') ?? 'AWS_KMS';
    if (origin !== 'AWS_KMS' && origin !== 'EXTERNAL') throw new AwsError('UnsupportedOperationException', `Origin ${origin} is not supported by the emulator.`);
    const key = createKey(state, { description: optionalString(input, 'Description'), origin });
    return { KeyMetadata: keyMetadata(state, key) };
  },
  DescribeKey: ({ state }, input) => ({ KeyMetadata: keyMetadata(state, findKey(state, requireString(input, 'KeyId'))) }),
  CreateAlias: ({ state }, input) => {
    const name = requireString(input, 'AliasName');
    if (name.startsWith('alias/aws/')) throw new AwsError('NotAuthorizedException', 'Cannot create alias with prefix \'alias/aws/\'');
    const key = findKey(state, requireString(input, 'TargetKeyId'), false);
    addAlias(state, name, key.keyId);
    return {};
  },
  ListAliases: ({ state }, input) => {
    const keyRef = optionalString(input, 'KeyId');
    const keyId = keyRef === undefined ? undefined : findKey(state, keyRef).keyId;
    const aliases = [...state.aliases.values()].filter((a) => keyId === undefined || a.keyId === keyId);
    return {
      Aliases: aliases.map((a) => ({
        AliasName: a.name, AliasArn: aliasArn(state, a.name), TargetKeyId: a.keyId,
        CreationDate: seconds(a.created), LastUpdatedDate: seconds(a.created),
      })),
      Truncated: false,
    };
  },
  EnableKey: ({ state }, input) => {
    const key = keyById(state, input);
    rejectPendingDeletion(key);
    if (key.state === 'PendingImport') throw new AwsError('KMSInvalidStateException', `${key.arn} is pending import.`);
    key.state = 'Enabled';
    return {};
  },
  DisableKey: ({ state }, input) => {
    const key = keyById(state, input);
    rejectPendingDeletion(key);
    if (key.state === 'PendingImport') throw new AwsError('KMSInvalidStateException', `${key.arn} is pending import.`);
    key.state = 'Disabled';
    return {};
  },
  ScheduleKeyDeletion: ({ state }, input) => {
    const key = keyById(state, input);
    rejectPendingDeletion(key);
    const days = optionalNumber(input, 'PendingWindowInDays') ?? 30;
    if (days < 7 || days > 30) {
      throw validation(`1 validation error detected: Value '${days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30`);
    }
    key.state = 'PendingDeletion';
    key.pendingWindowInDays = days;
    key.deletionDate = Date.now() + days * 86_400_000;
    return { KeyId: key.arn, DeletionDate: seconds(key.deletionDate), KeyState: key.state, PendingWindowInDays: days };
  },
  CancelKeyDeletion: ({ state }, input) => {
    const key = keyById(state, input);
    if (key.state !== 'PendingDeletion') throw new AwsError('KMSInvalidStateException', `${key.arn} is not pending deletion.`);
    key.state = 'Disabled';
    key.deletionDate = undefined;
    key.pendingWindowInDays = undefined;
    return { KeyId: key.arn };
  },
  Encrypt: ({ state }, input) => {
    const plaintext = requireBlob(input, 'Plaintext');
    if (plaintext.length < 1 || plaintext.length > PLAINTEXT_MAX_BYTES) {
      throw validation(`1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and ${PLAINTEXT_MAX_BYTES}`);
    }
    const { key, blob } = encryptWith(state, requireString(input, 'KeyId'), plaintext, optionalStringMap(input, 'EncryptionContext'));
    return { CiphertextBlob: blob.toString('base64'), KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  },
  Decrypt: ({ state }, input) => {
    const { key, plaintext } = decryptBlob(state, requireBlob(input, 'CiphertextBlob'),
      optionalStringMap(input, 'EncryptionContext'), optionalString(input, 'KeyId'));
    return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  },
  GenerateRandom: (_ctx, input) => {
    const count = optionalNumber(input, 'NumberOfBytes');
    if (count === undefined || count < 1 || count > 1024) {
      throw validation(`1 validation error detected: Value '${count ?? 'null'}' at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024`);
    }
    return { Plaintext: randomBytes(count).toString('base64') };
  },
};
