// New passphrases: 64 bytes from KMS GenerateRandom mixed with 64 from the host's RNG, as base64 text — the text itself
// is the passphrase.
import { randomFillSync } from 'node:crypto';
import type { AwsContext } from '../aws/clients.ts';
import { AWS_ATTEMPT_TIMEOUT_MS } from '../aws/client-config.ts';
import { mapAwsError } from '../aws/errors.ts';
import { allocWipeable } from '../aws/byte-store.ts';
import { callWithRetry } from '../aws/retry.ts';
import { sendCapturing, type SecretCapture } from '../aws/secret-capture.ts';
import { UnlockError } from '../errors.ts';
import { decodeBase64Bytes } from '../secret/encoding.ts';
import { Secret } from '../secret/secret.ts';
import type { Clock, Logger } from '../types.ts';

/** 512 bits: more than the LUKS2 volume key, so the passphrase is never the weak link. Base64 makes it 88 characters. */
export const PASSPHRASE_RANDOM_BYTES = 64;

const ALPHABET = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
const PAD = 0x3d;

/** Standard base64 with padding, bytes to bytes: Buffer#toString('base64') would leave the secret in a JS string. */
export function encodeBase64Bytes(input: Uint8Array): Buffer {
  const out = allocWipeable(Math.ceil(input.length / 3) * 4);
  let o = 0;
  for (let i = 0; i < input.length; i += 3) {
    const a = input[i] as number;
    const b = i + 1 < input.length ? (input[i + 1] as number) : 0;
    const c = i + 2 < input.length ? (input[i + 2] as number) : 0;
    out[o++] = ALPHABET[a >> 2] as number;
    out[o++] = ALPHABET[((a & 3) << 4) | (b >> 4)] as number;
    out[o++] = i + 1 < input.length ? (ALPHABET[((b & 15) << 2) | (c >> 6)] as number) : PAD;
    out[o++] = i + 2 < input.length ? (ALPHABET[c & 63] as number) : PAD;
  }
  return out;
}

const GENERATED_LENGTH = Math.ceil(PASSPHRASE_RANDOM_BYTES / 3) * 4;

/**
 * True for a key in exactly the form generatePassphrase makes (88 base64 characters, "==" at the end): such a key
 * gets the minimal PBKDF. A fresh key always is; so is the key an interrupted enroll or rotate finds stored and
 * resumes with. A person's key in this form is 512 random bits as well; any other is treated as chosen by a person.
 */
export function isGeneratedForm(value: Secret): boolean {
  const bytes = value.bytes();
  if (bytes.length !== GENERATED_LENGTH || bytes[GENERATED_LENGTH - 1] !== PAD || bytes[GENERATED_LENGTH - 2] !== PAD) return false;
  return bytes.subarray(0, GENERATED_LENGTH - 2).every((byte) => ALPHABET.includes(byte));
}

/**
 * The passphrase as printable text (what SSM stores and what an admin can type at a console in an emergency).
 * With SSM_VALUE_ENCODING=base64 start decodes it back to the 64 random bytes; either way the entropy is 512 bits.
 * KMS's bytes are XORed with the host's own: at least as random as KMS's answer, and no single answerer (a fake
 * endpoint a local user bound first, a broken proxy) picks the key (review 13, finding 5).
 */
export async function generatePassphrase(aws: AwsContext, opts: { deadline: number; clock: Clock; log?: Logger }): Promise<Secret> {
  const { GenerateRandomCommand } = await import('../aws/kms-client.ts');
  const kms = await aws.kms();
  const what = `generate a passphrase with KMS GenerateRandom in ${aws.region}`;
  // The answer's Plaintext is the base64 text of the random bytes: the request handler lifts it out of the raw body
  // (src/aws/secret-capture.ts) before the SDK makes it a string.
  let capture: SecretCapture | undefined;
  try {
    const answer = await callWithRetry(
      (abortSignal) => sendCapturing(abortSignal, 'Plaintext', (signal) => kms.send(new GenerateRandomCommand({ NumberOfBytes: PASSPHRASE_RANDOM_BYTES }), { abortSignal: signal })),
      { deadline: opts.deadline, clock: opts.clock, what, attemptTimeoutMs: AWS_ATTEMPT_TIMEOUT_MS, ...(opts.log ? { log: opts.log } : {}) },
    );
    capture = answer.capture;
    answer.out.Plaintext?.fill(0);
    const [text] = capture.takeAll();
    const random = text === undefined ? undefined : decodeBase64Bytes(text);
    text?.fill(0);
    if (random === undefined || random.length !== PASSPHRASE_RANDOM_BYTES) {
      const length = random?.length ?? 0;
      random?.fill(0);
      throw new UnlockError('AWS_UNAVAILABLE', `Failed to ${what}: KMS answered ${length} bytes, not ${PASSPHRASE_RANDOM_BYTES}`);
    }
    return Secret.adopt(mixedWithLocal(random));
  } catch (error) {
    throw mapAwsError(error, { what, action: 'kms:GenerateRandom', region: aws.region });
  } finally {
    capture?.wipe();
  }
}

/** `random` XOR as many bytes of the host's RNG, as canonical base64 text; `random` and the local bytes are wiped. */
function mixedWithLocal(random: Uint8Array): Buffer {
  const local = randomFillSync(allocWipeable(random.length));
  try {
    for (let i = 0; i < random.length; i += 1) random[i] = (random[i] as number) ^ (local[i] as number);
    return encodeBase64Bytes(random);
  } finally {
    local.fill(0);
    random.fill(0);
  }
}
