// Recovery keys in systemd-cryptenroll's format: 32 random bytes as 64 modhex characters, 8 groups of 8.
import { randomBytes } from 'node:crypto';
import { Secret } from './secret.ts';

/** ModHex (YubiKey's keyboard-layout-proof hex digits), in systemd's order: src/shared/recovery-key.c. */
export const MODHEX_ALPHABET = 'cbdefghijklnrtuv';
export const RECOVERY_KEY_BYTES = 32;
/** 64 characters and 7 dashes. */
export const RECOVERY_KEY_LENGTH = RECOVERY_KEY_BYTES * 2 + RECOVERY_KEY_BYTES / 4 - 1;

/**
 * The formatted key as the Secret's bytes (ASCII): systemd uses the formatted string itself as the LUKS
 * passphrase, so a key made here opens with systemd-cryptsetup and vice versa. The random bytes are wiped.
 */
export function makeRecoveryKey(random: (n: number) => Buffer = randomBytes): Secret {
  const raw = random(RECOVERY_KEY_BYTES);
  const out = Buffer.alloc(RECOVERY_KEY_LENGTH);
  let j = 0;
  try {
    for (let i = 0; i < RECOVERY_KEY_BYTES; i += 1) {
      out[j++] = MODHEX_ALPHABET.charCodeAt(raw[i]! >> 4);
      out[j++] = MODHEX_ALPHABET.charCodeAt(raw[i]! & 0xf);
      if (i % 4 === 3 && i !== RECOVERY_KEY_BYTES - 1) out[j++] = 0x2d;
    }
  } finally {
    raw.fill(0);
  }
  return Secret.adopt(out);
}

function modhexValue(byte: number): number {
  const lower = byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte;
  return MODHEX_ALPHABET.indexOf(String.fromCharCode(lower));
}

/**
 * What a person typed, as the passphrase to try: a recovery key typed in upper case or without its dashes is
 * brought to the canonical form (as systemd's normalize_recovery_key() does); anything else is returned as it
 * is (a passphrase an admin set by hand). Works on bytes, so the typed text never becomes a JS string.
 */
export function normalizeTypedKey(typed: Secret): Secret {
  const bytes = typed.bytes();
  const dashed = bytes.length === RECOVERY_KEY_LENGTH;
  if (!dashed && bytes.length !== RECOVERY_KEY_BYTES * 2) return typed;
  const out = Buffer.alloc(RECOVERY_KEY_LENGTH);
  let j = 0;
  for (let i = 0; i < RECOVERY_KEY_BYTES; i += 1) {
    const k = dashed ? i * 2 + Math.floor(i / 4) : i * 2;
    const a = modhexValue(bytes[k]!);
    const b = modhexValue(bytes[k + 1]!);
    if (a < 0 || b < 0 || (dashed && i > 0 && i % 4 === 0 && bytes[k - 1] !== 0x2d)) {
      out.fill(0);
      return typed;
    }
    out[j++] = MODHEX_ALPHABET.charCodeAt(a);
    out[j++] = MODHEX_ALPHABET.charCodeAt(b);
    if (i % 4 === 3 && i !== RECOVERY_KEY_BYTES - 1) out[j++] = 0x2d;
  }
  typed.wipe();
  return Secret.adopt(out);
}
