// Emulated KMS ciphertext: AES-256-GCM under per-key material, bound to the encryption context.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AwsError } from './errors.ts';

/**
 * Blob layout: MAGIC | key id (36 ASCII chars, a UUID) | IV (12) | tag (16) | ciphertext.
 * The key id inside the blob is what lets Decrypt work without a KeyId, as real KMS does.
 */
const MAGIC = Buffer.from('EKM1', 'ascii');
const KEY_ID_LENGTH = 36;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const HEADER_LENGTH = MAGIC.length + KEY_ID_LENGTH + IV_LENGTH + TAG_LENGTH;

export type EncryptionContext = Record<string, string>;

export interface ParsedBlob {
  keyId: string;
  iv: Buffer;
  tag: Buffer;
  body: Buffer;
}

/** Order-independent, so {a,b} and {b,a} are the same context, as in KMS. */
function contextAad(context: EncryptionContext | undefined): Buffer {
  const entries = Object.entries(context ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(entries), 'utf8');
}

export function sealBlob(keyId: string, material: Buffer, plaintext: Buffer, context: EncryptionContext | undefined): Buffer {
  const iv = randomBytes(IV_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', material, iv);
  cipher.setAAD(contextAad(context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([MAGIC, Buffer.from(keyId, 'ascii'), iv, cipher.getAuthTag(), body]);
}

/** Real KMS answers InvalidCiphertextException with an empty message for blobs it cannot use. */
function invalidCiphertext(): AwsError {
  return new AwsError('InvalidCiphertextException', '');
}

export function parseBlob(blob: Buffer): ParsedBlob {
  if (blob.length < HEADER_LENGTH || !blob.subarray(0, MAGIC.length).equals(MAGIC)) throw invalidCiphertext();
  let at = MAGIC.length;
  const keyId = blob.subarray(at, (at += KEY_ID_LENGTH)).toString('ascii');
  const iv = blob.subarray(at, (at += IV_LENGTH));
  const tag = blob.subarray(at, (at += TAG_LENGTH));
  return { keyId, iv, tag, body: blob.subarray(at) };
}

export function openBlob(parsed: ParsedBlob, material: Buffer, context: EncryptionContext | undefined): Buffer {
  try {
    const decipher = createDecipheriv('aes-256-gcm', material, parsed.iv);
    decipher.setAAD(contextAad(context));
    decipher.setAuthTag(parsed.tag);
    return Buffer.concat([decipher.update(parsed.body), decipher.final()]);
  } catch {
    throw invalidCiphertext();
  }
}

export function newKeyMaterial(): Buffer {
  return randomBytes(32);
}
