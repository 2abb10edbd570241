// Which PBKDF a new key slot gets, and the cryptsetup options that say so.
import { describe, expect, it } from 'vitest';
import { MINIMAL_PBKDF, pbkdfArgs, pbkdfForNewSlot } from '../../src/luks/kdf.ts';

describe('pbkdfArgs', () => {
  it('names type, hash, iterations and memory (memory only for argon2)', () => {
    expect(pbkdfArgs(undefined)).toEqual([]);
    expect(pbkdfArgs({ type: 'argon2id', memoryKib: 65536 })).toEqual(['--pbkdf', 'argon2id', '--pbkdf-memory', '65536']);
    expect(pbkdfArgs({ type: 'pbkdf2', memoryKib: 65536, forceIterations: 5 })).toEqual(['--pbkdf', 'pbkdf2', '--pbkdf-force-iterations', '5']);
  });

  it('the minimal PBKDF is systemd-cryptenroll\'s: PBKDF2-SHA512, 1000 iterations, no benchmark', () => {
    expect(pbkdfArgs(MINIMAL_PBKDF)).toEqual(['--pbkdf', 'pbkdf2', '--hash', 'sha512', '--pbkdf-force-iterations', '1000']);
  });
});

describe('pbkdfForNewSlot', () => {
  it('a generated key gets the minimal PBKDF, a chosen one cryptsetup\'s default', () => {
    expect(pbkdfForNewSlot(undefined, true)).toEqual(MINIMAL_PBKDF);
    expect(pbkdfForNewSlot(undefined, false)).toBeUndefined();
  });

  it('explicit LUKS_PBKDF* settings win for both', () => {
    const configured = { type: 'argon2id' as const, memoryKib: 65536 };
    expect(pbkdfForNewSlot(configured, true)).toBe(configured);
    expect(pbkdfForNewSlot(configured, false)).toBe(configured);
  });
});
