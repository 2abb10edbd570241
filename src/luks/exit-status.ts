// What a cryptsetup exit status means for the user: one UnlockError per failure, built from names only.
import { UnlockError } from '../errors.ts';
import type { RunResult } from '../types.ts';

/** cryptsetup(8) "RETURN CODES". */
export const CRYPTSETUP_EXIT = {
  WRONG_PARAMETERS: 1,
  NO_PERMISSION: 2, // bad passphrase
  OUT_OF_MEMORY: 3,
  WRONG_DEVICE: 4, // device missing or not accessible; for close/status: not active
  BUSY: 5, // device already exists or is busy
} as const;

const LINE_MAX = 200;

/** cryptsetup's first stderr line (it never echoes the key), else the exit status. */
export function describeFailure(result: RunResult): string {
  const line = result.stderr.split('\n').find((l) => l.trim() !== '')?.trim();
  if (line === undefined) return `cryptsetup exited with status ${result.exitCode}`;
  return line.length > LINE_MAX ? `${line.slice(0, LINE_MAX)}…` : line;
}

/**
 * `what` reads as "open /dev/x as data", "close data"…: the message is "Failed to <what>: <detail>".
 * `keyed` says a key went in on stdin, so exit 2 means the passphrase opens no key slot.
 */
export function cryptsetupError(what: string, device: string, result: RunResult, keyed = false): UnlockError {
  const detail = describeFailure(result);
  if (result.timedOut) {
    return new UnlockError('TIMEOUT', `Failed to ${what}: cryptsetup did not finish in time`, { retryable: true });
  }
  switch (result.exitCode) {
    case CRYPTSETUP_EXIT.NO_PERMISSION:
      if (!keyed) return new UnlockError('PERMISSION', `Failed to ${what}: permission denied (${detail})`);
      return new UnlockError('WRONG_PASSPHRASE', `No keyslot of ${device} opens with the passphrase from SSM`, {
        hint: 'check SSM_PATH and the parameter version, or add this passphrase with cryptsetup luksAddKey',
      });
    case CRYPTSETUP_EXIT.OUT_OF_MEMORY:
      // With a key, exit 3 is the key slot's argon2 asking for more memory than the machine gives ("Not enough
      // available memory to open a keyslot."): the same at every try, so permanent. Callers add the figures.
      if (keyed) {
        return new UnlockError('SLOT_TOO_COSTLY', `Failed to ${what}: its key slot needs more memory than this instance has (${detail})`, {
          hint: 'run luks-ssm rotate on an instance with more memory: the new key slot needs ~8 MiB',
        });
      }
      return new UnlockError('SYSTEM', `Failed to ${what}: out of memory (${detail})`, {
        retryable: true,
        hint: 'argon2 key slots need memory; close other volumes or use a smaller --pbkdf-memory',
      });
    case CRYPTSETUP_EXIT.WRONG_DEVICE:
      return new UnlockError('SYSTEM', `Failed to ${what}: device not accessible (${detail})`, {
        hint: `check that ${device} exists and is readable by root (lsblk)`,
      });
    case CRYPTSETUP_EXIT.BUSY:
      return new UnlockError('SYSTEM', `Failed to ${what}: device busy or mapping already exists (${detail})`, {
        retryable: true,
        hint: 'see cryptsetup status and lsblk',
      });
  }
  if (/not a valid LUKS device/i.test(detail)) {
    return new UnlockError('NOT_LUKS', `${device} is not a LUKS volume, refusing.`);
  }
  return new UnlockError('SYSTEM', `Failed to ${what}: ${detail}`);
}
