// LUKS2 key slots for enroll and rotate: read the header, find the slot a key opens, add a key, kill a slot.
// Every key reaches cryptsetup on stdin only; luksAddKey takes both keys there (see addKey).
import { UnlockError } from '../errors.ts';
import type { Secret } from '../secret/secret.ts';
import type { PbkdfSettings, RunResult, Runner } from '../types.ts';
import { DEFAULT_OPEN_TIMEOUT_MS } from './cryptsetup.ts';
import { CRYPTSETUP_EXIT, cryptsetupError } from './exit-status.ts';
import { pbkdfArgs } from './kdf.ts';

// The header's readers moved to header.ts (luksDump text, not --dump-json-metadata); re-exported for callers.
export { readLuksHeader, type LuksHeader, type LuksToken } from './header.ts';

/** The key slot `secret` opens, or undefined when it opens none ("Key slot N unlocked." with -v). */
export async function slotOpenedBy(run: Runner, device: string, secret: Secret): Promise<number | undefined> {
  const result = await run('cryptsetup', ['open', '--test-passphrase', '--verbose', '--type', 'luks', '--key-file=-', '--', device], {
    input: secret.bytes(),
    timeoutMs: DEFAULT_OPEN_TIMEOUT_MS,
  });
  if (!result.timedOut && result.exitCode === CRYPTSETUP_EXIT.NO_PERMISSION) return undefined;
  if (result.timedOut || result.exitCode !== 0) throw cryptsetupError(`test a key on ${device}`, device, result, true);
  const slot = /Key slot (\d+) unlocked/.exec(result.stdout + result.stderr)?.[1];
  if (slot === undefined) throw new UnlockError('SYSTEM', `Failed to test a key on ${device}: cryptsetup did not say which key slot opened`);
  return Number(slot);
}

/**
 * Adds `added` in a new key slot, authorised by `existing`. Both go on stdin, one after the other:
 * `--key-file=- --keyfile-size=N` reads exactly the N bytes of the existing key, then the new key file `-`
 * (the positional argument after the device) reads the rest, so neither key is ever in argv, a file or a pipe
 * we name. The positional form works on every cryptsetup in the field (checked on 2.3.7 and 2.6.1);
 * `--new-keyfile=` needs 2.6 (issue #11).
 */
export async function addKey(run: Runner, device: string, existing: Secret, added: Secret, pbkdf?: PbkdfSettings): Promise<void> {
  const input = Buffer.concat([existing.bytes(), added.bytes()]);
  let result: RunResult;
  try {
    result = await run('cryptsetup', [
      'luksAddKey', '--batch-mode', ...pbkdfArgs(pbkdf),
      '--key-file=-', `--keyfile-size=${existing.length}`,
      `--new-keyfile-size=${added.length}`,
      '--', device, '-',
    ], { input, timeoutMs: 2 * DEFAULT_OPEN_TIMEOUT_MS });
  } finally {
    input.fill(0);
  }
  if (result.exitCode === 0 && !result.timedOut) return;
  if (result.exitCode === CRYPTSETUP_EXIT.NO_PERMISSION && !result.timedOut) {
    throw new UnlockError('WRONG_PASSPHRASE', `Failed to add a key slot to ${device}: the existing key opens no key slot`);
  }
  if (/keyslots? (full|are full)|All key slots full/i.test(result.stderr)) {
    throw new UnlockError('SYSTEM', `Failed to add a key slot to ${device}: all key slots are in use`, {
      hint: `see cryptsetup luksDump ${device}; remove a slot you no longer need with cryptsetup luksKillSlot`,
    });
  }
  throw cryptsetupError(`add a key slot to ${device}`, device, result, true);
}

/**
 * Wipes key slot `slot`. `remaining` goes on stdin and must open another slot: cryptsetup refuses
 * otherwise (exit 2), so this can never remove the last key that works.
 */
export async function killSlot(run: Runner, device: string, slot: number, remaining: Secret): Promise<void> {
  const result = await run('cryptsetup', ['luksKillSlot', '--key-file=-', '--', device, String(slot)], {
    input: remaining.bytes(),
    timeoutMs: DEFAULT_OPEN_TIMEOUT_MS,
  });
  if (result.exitCode === 0 && !result.timedOut) return;
  if (result.exitCode === CRYPTSETUP_EXIT.NO_PERMISSION && !result.timedOut) {
    throw new UnlockError('WRONG_PASSPHRASE', `Failed to remove key slot ${slot} of ${device}: the new key opens no other key slot, refusing`);
  }
  throw cryptsetupError(`remove key slot ${slot} of ${device}`, device, result, true);
}
