// LUKS2 key slots for enroll and rotate: read the header, find the slot a key opens, add a key, kill a slot.
// Every key reaches cryptsetup on stdin only; luksAddKey takes both keys there (see addKey).
import { UnlockError } from '../errors.ts';
import type { Secret } from '../secret/secret.ts';
import type { PbkdfSettings, RunResult, Runner } from '../types.ts';
import { DEFAULT_OPEN_TIMEOUT_MS, DEFAULT_QUERY_TIMEOUT_MS } from './cryptsetup.ts';
import { CRYPTSETUP_EXIT, cryptsetupError } from './exit-status.ts';
import { pbkdfArgs } from './kdf.ts';

export interface LuksToken {
  id: number;
  type: string;
  keyslots: number[];
  /** The token's whole JSON object, as luksDump shows it. */
  json: Record<string, unknown>;
}

export interface LuksHeader {
  keyslots: number[];
  tokens: LuksToken[];
}

/** `cryptsetup luksDump --dump-json-metadata` (cryptsetup >= 2.4): the LUKS2 JSON area, which holds no key material. */
export async function readLuksHeader(run: Runner, device: string): Promise<LuksHeader> {
  const result = await run('cryptsetup', ['luksDump', '--dump-json-metadata', device], { timeoutMs: DEFAULT_QUERY_TIMEOUT_MS });
  if (result.exitCode !== 0 || result.timedOut) throw cryptsetupError(`read the LUKS2 header of ${device}`, device, result);
  let doc: { keyslots?: Record<string, unknown>; tokens?: Record<string, Record<string, unknown>> };
  try {
    doc = JSON.parse(result.stdout) as typeof doc;
  } catch (error) {
    throw new UnlockError('NOT_LUKS', `${device} has no LUKS2 JSON header (LUKS1?); luks-ssm enroll and rotate need LUKS2, refusing.`, {
      cause: error,
      hint: `convert it: cryptsetup convert --type luks2 ${device}`,
    });
  }
  const tokens = Object.entries(doc.tokens ?? {}).map(([id, json]) => ({
    id: Number(id),
    type: typeof json.type === 'string' ? json.type : '',
    keyslots: Array.isArray(json.keyslots) ? json.keyslots.map(Number) : [],
    json,
  }));
  return { keyslots: Object.keys(doc.keyslots ?? {}).map(Number).sort((a, b) => a - b), tokens: tokens.sort((a, b) => a.id - b.id) };
}

/** The key slot `secret` opens, or undefined when it opens none ("Key slot N unlocked." with -v). */
export async function slotOpenedBy(run: Runner, device: string, secret: Secret): Promise<number | undefined> {
  const result = await run('cryptsetup', ['open', '--test-passphrase', '--verbose', '--type', 'luks', '--key-file=-', device], {
    input: secret.bytes(),
    timeoutMs: DEFAULT_OPEN_TIMEOUT_MS,
  });
  if (!result.timedOut && result.exitCode === CRYPTSETUP_EXIT.NO_PERMISSION) return undefined;
  if (result.timedOut || result.exitCode !== 0) throw cryptsetupError(`test a key on ${device}`, device, result);
  const slot = /Key slot (\d+) unlocked/.exec(result.stdout + result.stderr)?.[1];
  if (slot === undefined) throw new UnlockError('SYSTEM', `Failed to test a key on ${device}: cryptsetup did not say which key slot opened`);
  return Number(slot);
}

/**
 * Adds `added` in a new key slot, authorised by `existing`. Both go on stdin, one after the other:
 * `--key-file=- --keyfile-size=N` reads exactly the N bytes of the existing key, then `--new-keyfile=-`
 * reads the rest (cryptsetup-luksAddKey(8)), so neither key is ever in argv, a file or a pipe we name.
 */
export async function addKey(run: Runner, device: string, existing: Secret, added: Secret, pbkdf?: PbkdfSettings): Promise<void> {
  const input = Buffer.concat([existing.bytes(), added.bytes()]);
  let result: RunResult;
  try {
    result = await run('cryptsetup', [
      'luksAddKey', '--batch-mode', ...pbkdfArgs(pbkdf),
      '--key-file=-', `--keyfile-size=${existing.length}`,
      '--new-keyfile=-', `--new-keyfile-size=${added.length}`,
      device,
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
  throw cryptsetupError(`add a key slot to ${device}`, device, result);
}

/**
 * Wipes key slot `slot`. `remaining` goes on stdin and must open another slot: cryptsetup refuses
 * otherwise (exit 2), so this can never remove the last key that works.
 */
export async function killSlot(run: Runner, device: string, slot: number, remaining: Secret): Promise<void> {
  const result = await run('cryptsetup', ['luksKillSlot', '--key-file=-', device, String(slot)], {
    input: remaining.bytes(),
    timeoutMs: DEFAULT_OPEN_TIMEOUT_MS,
  });
  if (result.exitCode === 0 && !result.timedOut) return;
  if (result.exitCode === CRYPTSETUP_EXIT.NO_PERMISSION && !result.timedOut) {
    throw new UnlockError('WRONG_PASSPHRASE', `Failed to remove key slot ${slot} of ${device}: the new key opens no other key slot, refusing`);
  }
  throw cryptsetupError(`remove key slot ${slot} of ${device}`, device, result);
}
