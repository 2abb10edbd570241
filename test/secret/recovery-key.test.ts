// Recovery keys: systemd-cryptenroll's format byte for byte, and what a person may type for one.
import { describe, expect, it } from 'vitest';
import { makeRecoveryKey, normalizeTypedKey, RECOVERY_KEY_LENGTH } from '../../src/secret/recovery-key.ts';
import { Secret } from '../../src/secret/secret.ts';

const fixed = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 0x11 + 0x0f) & 0xff));

describe('makeRecoveryKey', () => {
  it('formats 32 bytes as 64 modhex characters in 8 dash-joined groups, high nibble first (systemd make_recovery_key)', () => {
    const text = makeRecoveryKey(() => Buffer.from([0x00, 0x1f, 0xab, 0xff, ...new Array(28).fill(0x5c)])).bytes().toString('ascii');
    // 0x00 -> "cc", 0x1f -> "bv", 0xab -> "ln", 0xff -> "vv", 0x5c -> "gr" (alphabet c b d e f g h i j k l n r t u v)
    expect(text.slice(0, 9)).toBe('ccbvlnvv-');
    expect(text).toHaveLength(RECOVERY_KEY_LENGTH);
    expect(text).toMatch(/^[cbdefghijklnrtuv]{8}(-[cbdefghijklnrtuv]{8}){7}$/);
    expect(text.slice(9, 17)).toBe('grgrgrgr');
  });

  it('wipes the random bytes it was given', () => {
    const raw = fixed(32);
    makeRecoveryKey(() => raw);
    expect(raw.every((b) => b === 0)).toBe(true);
  });

  it('draws fresh randomness each time', () => {
    expect(makeRecoveryKey().bytes().equals(makeRecoveryKey().bytes())).toBe(false);
  });
});

describe('normalizeTypedKey', () => {
  const key = makeRecoveryKey(() => fixed(32)).bytes().toString('ascii');
  const typed = (text: string) => normalizeTypedKey(Secret.copyOf(Buffer.from(text))).bytes().toString('ascii');

  it('accepts the key as shown, in upper case, or without dashes', () => {
    expect(typed(key)).toBe(key);
    expect(typed(key.toUpperCase())).toBe(key);
    expect(typed(key.replaceAll('-', ''))).toBe(key);
  });

  it('leaves anything else exactly as typed (a passphrase set by hand)', () => {
    expect(typed('correct horse battery staple')).toBe('correct horse battery staple');
    const misplaced = `${key.slice(0, 8)}x${key.slice(9)}`;
    expect(typed(misplaced)).toBe(misplaced);
    const notModhex = key.replace(/^./, 'a');
    expect(typed(notModhex)).toBe(notModhex);
  });
});
