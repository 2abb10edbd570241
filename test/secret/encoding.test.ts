// Key value decoding: base64 decoded byte-for-byte without a JS string, text passed through untouched.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { decodeBase64Bytes, decodeKeyValue } from '../../src/secret/encoding.ts';
import { Secret } from '../../src/secret/secret.ts';
import { UnlockError } from '../../src/errors.ts';

describe('decodeBase64Bytes', () => {
  it('matches Buffer base64 decoding for every length and padding', () => {
    for (let n = 0; n < 70; n++) {
      const raw = randomBytes(n);
      expect(decodeBase64Bytes(Buffer.from(raw.toString('base64')))?.equals(raw)).toBe(true);
      expect(decodeBase64Bytes(Buffer.from(raw.toString('base64').replace(/=+$/, '')))?.equals(raw)).toBe(true);
    }
  });

  it('skips line breaks and rejects malformed input', () => {
    const raw = randomBytes(100);
    const wrapped = raw.toString('base64').replace(/(.{20})/g, '$1\n');
    expect(decodeBase64Bytes(Buffer.from(`${wrapped}\n`))?.equals(raw)).toBe(true);
    for (const bad of ['a', 'ab=c', 'ab$d', 'abc===', '====']) expect(decodeBase64Bytes(Buffer.from(bad))).toBeUndefined();
  });
});

describe('decodeKeyValue', () => {
  it('text returns the value unchanged, including a trailing newline', () => {
    const value = Secret.copyOf(Buffer.from('pass phrase\n'));
    expect(decodeKeyValue(value, 'text', '/p').bytes().toString()).toBe('pass phrase\n');
  });

  it('base64 yields non-UTF-8 bytes and NULs exactly and wipes the encoded value', () => {
    const raw = Buffer.from([0xff, 0x00, 0xfe, 0x0a, 0x80]);
    const value = Secret.copyOf(Buffer.from(raw.toString('base64')));
    expect(decodeKeyValue(value, 'base64', '/p').bytes().equals(raw)).toBe(true);
    expect(value.wiped).toBe(true);
  });

  it('invalid base64 is a CONFIG error naming the parameter, not its value', () => {
    const value = Secret.copyOf(Buffer.from('not*base64'));
    const error = (() => { try { decodeKeyValue(value, 'base64', '/luks/data'); } catch (e) { return e; } })() as UnlockError;
    expect(error.kind).toBe('CONFIG');
    expect(error.message).toContain('/luks/data');
    expect(error.message).not.toContain('not*base64');
  });
});
