// The PBKDF a new key slot gets, as cryptsetup options: one place for enroll, rotate and recovery keys.
//
// A generated key (512 random bits) gets the minimal PBKDF systemd-cryptenroll gives every high-entropy secret
// (PBKDF2-SHA512, 1000 iterations, no benchmark): no KDF makes a search of 2^512 any harder, while argon2id's
// benchmarked cost is ~2 s and ~300 MiB-1 GiB per unlock and can lock a smaller instance out (docs/lifecycle.md).
import type { PbkdfSettings } from '../types.ts';

export const MINIMAL_PBKDF: Readonly<PbkdfSettings> = Object.freeze({ type: 'pbkdf2', hash: 'sha512', forceIterations: 1000 });

/**
 * What a new slot for a key gets: explicit LUKS_PBKDF* settings win; otherwise a generated key gets the minimal
 * PBKDF and a key a person chose gets cryptsetup's defaults (argon2id, benchmarked), which do protect a weak one.
 */
export function pbkdfForNewSlot(configured: PbkdfSettings | undefined, generated: boolean): PbkdfSettings | undefined {
  if (configured !== undefined) return configured;
  return generated ? MINIMAL_PBKDF : undefined;
}

/** cryptsetup options for a new key slot; none means cryptsetup's own default (argon2id with its benchmark). */
export function pbkdfArgs(pbkdf: PbkdfSettings | undefined): string[] {
  if (pbkdf === undefined) return [];
  return [
    '--pbkdf', pbkdf.type,
    ...(pbkdf.hash === undefined ? [] : ['--hash', pbkdf.hash]),
    ...(pbkdf.forceIterations === undefined ? [] : ['--pbkdf-force-iterations', String(pbkdf.forceIterations)]),
    ...(pbkdf.memoryKib === undefined || pbkdf.type === 'pbkdf2' ? [] : ['--pbkdf-memory', String(pbkdf.memoryKib)]),
  ];
}
