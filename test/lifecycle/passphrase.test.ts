// The passphrase encoder: byte-for-byte standard base64, without ever making the secret a JS string.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeBase64Bytes, isGeneratedForm } from '../../src/lifecycle/passphrase.ts';
import { Secret } from '../../src/secret/secret.ts';
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

describe('isGeneratedForm', () => {
  it('a generated passphrase is; a person\'s passphrase, a near miss or raw bytes are not', () => {
    const generated = encodeBase64Bytes(randomBytes(64));
    expect(isGeneratedForm(Secret.copyOf(generated))).toBe(true);
    expect(isGeneratedForm(Secret.copyOf(Buffer.from('correct horse battery staple')))).toBe(false);
    expect(isGeneratedForm(Secret.copyOf(Buffer.concat([generated, Buffer.from('\n')])))).toBe(false);
    expect(isGeneratedForm(Secret.copyOf(encodeBase64Bytes(randomBytes(63))))).toBe(false);
    const bad = Buffer.from(generated);
    bad[10] = 0x2e; // '.'
    expect(isGeneratedForm(Secret.copyOf(bad))).toBe(false);
    expect(isGeneratedForm(Secret.copyOf(randomBytes(88)))).toBe(false);
  });
});
