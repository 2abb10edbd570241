// Turns a parameter value into key bytes: as-is (text) or base64-decoded (binary keys SSM can't hold as text).
import { allocWipeable } from '../aws/byte-store.ts';
import { UnlockError } from '../errors.ts';
import { Secret } from './secret.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const SIXBITS = new Int16Array(256).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) SIXBITS[ALPHABET.charCodeAt(i)] = i;
const PAD = 0x3d;
const IGNORED = new Set([0x0a, 0x0d, 0x20, 0x09]);

/** Consumes `value` (wiped here when decoded) and returns the key; never puts key bytes in an error. */
export function decodeKeyValue(value: Secret, encoding: 'text' | 'base64', parameter: string): Secret {
  if (encoding === 'text') return value;
  try {
    const decoded = decodeBase64Bytes(value.bytes());
    if (decoded === undefined) {
      throw new UnlockError('CONFIG', `SSM parameter ${parameter} is not valid base64 (SSM_VALUE_ENCODING=base64)`, {
        hint: 'store the key base64-encoded, or set SSM_VALUE_ENCODING=text',
      });
    }
    return Secret.adopt(decoded);
  } finally {
    value.wipe();
  }
}

/**
 * Decodes base64 straight from bytes to bytes: Buffer.from(string, 'base64') would need the secret as a
 * JS string, which can't be wiped. Whitespace is skipped; undefined for anything malformed.
 */
export function decodeBase64Bytes(input: Uint8Array): Buffer | undefined {
  // Off the JS heap (see allocWipeable): Buffer.alloc keeps a short key where wipe() can't reach every copy.
  const out = allocWipeable(Math.floor((input.length * 3) / 4) + 3);
  let bits = 0;
  let count = 0;
  let written = 0;
  let padding = 0;
  for (const byte of input) {
    if (IGNORED.has(byte)) continue;
    if (byte === PAD) {
      padding += 1;
      continue;
    }
    const six = SIXBITS[byte] as number;
    if (six < 0 || padding > 0) return wipeAndFail(out);
    bits = (bits << 6) | six;
    count += 1;
    if (count === 4) {
      out[written++] = (bits >> 16) & 0xff;
      out[written++] = (bits >> 8) & 0xff;
      out[written++] = bits & 0xff;
      bits = 0;
      count = 0;
    }
  }
  if (padding > 2 || count === 1 || (count > 0 && padding > 0 && count + padding !== 4)) return wipeAndFail(out);
  if (count === 2) out[written++] = (bits >> 4) & 0xff;
  if (count === 3) {
    out[written++] = (bits >> 10) & 0xff;
    out[written++] = (bits >> 2) & 0xff;
  }
  // A view, not a copy: nothing past `written` was ever written, so wiping the view wipes every key byte.
  return out.subarray(0, written);
}

function wipeAndFail(buffer: Buffer): undefined {
  buffer.fill(0);
  return undefined;
}
