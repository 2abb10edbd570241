// Encrypt and decrypt through an emulated KMS key, with KMS's checks on key state and key id.
import { AwsError } from './errors.ts';
import { findKey, requireUsable } from './kms-keys.ts';
import { openBlob, parseBlob, sealBlob, type EncryptionContext } from './kms-crypto.ts';
import type { KmsKey, State } from './store.ts';

/** KMS's plaintext limit for Encrypt. */
export const PLAINTEXT_MAX_BYTES = 4096;

export function encryptWith(state: State, keyRef: string, plaintext: Buffer, context: EncryptionContext | undefined): { key: KmsKey; blob: Buffer } {
  const key = findKey(state, keyRef);
  const material = requireUsable(key);
  return { key, blob: sealBlob(key.keyId, material, plaintext, context) };
}

/**
 * Decrypts a blob; the key comes from the blob. When the caller names a key (`keyRef`) it must be
 * the one in the blob (IncorrectKeyException otherwise), as with real KMS.
 */
export function decryptBlob(state: State, blob: Buffer, context: EncryptionContext | undefined, keyRef?: string): { key: KmsKey; plaintext: Buffer } {
  const parsed = parseBlob(blob);
  const key = findKey(state, parsed.keyId);
  if (keyRef !== undefined && findKey(state, keyRef).keyId !== key.keyId) {
    throw new AwsError('IncorrectKeyException', 'The key ID in the request does not identify a KMS key that can perform this operation.');
  }
  const material = requireUsable(key);
  return { key, plaintext: openBlob(parsed, material, context) };
}

/** The key a blob names, for AccessDenied resources; undefined when the blob is not ours. */
export function keyIdOfBlob(blob: Buffer): string | undefined {
  try {
    return parseBlob(blob).keyId;
  } catch {
    return undefined;
  }
}
