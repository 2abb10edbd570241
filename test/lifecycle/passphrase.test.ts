// The passphrase encoder: byte-for-byte standard base64, without ever making the secret a JS string.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeBase64Bytes } from '../../src/lifecycle/passphrase.ts';
import { decodeBase64Bytes } from '../../src/secret/encoding.ts';

describe('encodeBase64Bytes', () => {
  it.each([0, 1, 2, 3, 4, 5, 63, 64, 65, 1000])('agrees with Buffer base64 for %i bytes, and decodes back', (size) => {
    const bytes = randomBytes(size);
    const encoded = encodeBase64Bytes(bytes);
    expect(encoded.toString('latin1')).toBe(bytes.toString('base64'));
    expect(decodeBase64Bytes(encoded)?.equals(bytes)).toBe(true);
  });

  it('64 random bytes make the documented 88-character passphrase', () => {
    expect(encodeBase64Bytes(randomBytes(64)).toString('latin1')).toMatch(/^[A-Za-z0-9+/]{86}==$/);
  });
});
