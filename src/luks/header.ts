// The LUKS2 header as every cryptsetup from 2.2 shows it: key slots (with what their PBKDF costs) and token ids from
// `luksDump`'s text, each token's JSON from `token export` (`luksDump --dump-json-metadata` needs 2.4: not on
// Debian 11, RHEL 8, Ubuntu 20.04).
import { UnlockError } from '../errors.ts';
import type { Runner } from '../types.ts';
import { DEFAULT_QUERY_TIMEOUT_MS } from './cryptsetup.ts';
import { cryptsetupError } from './exit-status.ts';
import { TOKENS_NEED, unsupported } from './version.ts';

export interface LuksToken {
  id: number;
  type: string;
  keyslots: number[];
  /** The token's whole JSON object, as `cryptsetup token export` prints it. */
  json: Record<string, unknown>;
}

export interface LuksHeader {
  keyslots: number[];
  tokens: LuksToken[];
}

export interface LuksDump {
  version: number;
  keyslots: number[];
  /** Each LUKS2 key slot's PBKDF, in slot order (a LUKS1 dump lists none: its slots are always PBKDF2). */
  slotKdfs: SlotKdf[];
  tokens: Array<{ id: number; type: string }>;
}

export interface SlotKdf {
  slot: number;
  /** pbkdf2, argon2i or argon2id. */
  type: string;
  /** pbkdf2 only. */
  hash?: string;
  iterations?: number;
  /** argon2 only. */
  timeCost?: number;
  memoryKib?: number;
  threads?: number;
}

/** The tab-indented details of a key slot that say what its PBKDF costs ("\tPBKDF:      argon2id", "\tMemory: …"). */
const KDF_FIELDS: Record<string, (kdf: SlotKdf, value: string) => void> = {
  PBKDF: (kdf, value) => { kdf.type = value; },
  Hash: (kdf, value) => { kdf.hash = value; },
  Iterations: (kdf, value) => { kdf.iterations = Number(value); },
  'Time cost': (kdf, value) => { kdf.timeCost = Number(value); },
  Memory: (kdf, value) => { kdf.memoryKib = Number(value); },
  Threads: (kdf, value) => { kdf.threads = Number(value); },
};

/**
 * luksDump text: "Version: 2", then sections ("Keyslots:", "Tokens:", …) whose entries start "  <id>: <type>"
 * (two spaces; details below them are tab-indented). The same layout from cryptsetup 2.0 to 2.7.
 */
export function parseLuksDump(text: string): LuksDump | undefined {
  const version = /^Version:\s*(\d+)\s*$/m.exec(text)?.[1];
  if (version === undefined) return undefined;
  const dump: LuksDump = { version: Number(version), keyslots: [], slotKdfs: [], tokens: [] };
  let section = '';
  for (const line of text.split('\n')) {
    const heading = /^(\S[^:]*):\s*$/.exec(line);
    if (heading !== null) {
      section = heading[1]!;
      continue;
    }
    const entry = /^ {2}(\d+): (\S+)/.exec(line);
    if (entry !== null && section === 'Keyslots') {
      dump.keyslots.push(Number(entry[1]));
      dump.slotKdfs.push({ slot: Number(entry[1]), type: 'unknown' });
    }
    if (entry !== null && section === 'Tokens') dump.tokens.push({ id: Number(entry[1]), type: entry[2]! });
    const detail = /^\t([A-Za-z ]+):\s*(\S.*?)\s*$/.exec(line);
    const slot = dump.slotKdfs.at(-1);
    if (detail !== null && section === 'Keyslots' && slot !== undefined) KDF_FIELDS[detail[1]!]?.(slot, detail[2]!);
  }
  dump.keyslots.sort((a, b) => a - b);
  dump.slotKdfs.sort((a, b) => a.slot - b.slot);
  dump.tokens.sort((a, b) => a.id - b.id);
  return dump;
}

/** `cryptsetup luksDump` of `device`, parsed (no key material is ever read: no --dump-volume-key). */
async function readLuksDump(run: Runner, device: string): Promise<LuksDump> {
  const result = await run('cryptsetup', ['luksDump', '--', device], { timeoutMs: DEFAULT_QUERY_TIMEOUT_MS });
  if (result.exitCode !== 0 || result.timedOut) throw cryptsetupError(`read the LUKS header of ${device}`, device, result);
  const dump = parseLuksDump(result.stdout);
  if (dump === undefined) throw new UnlockError('SYSTEM', `Failed to read the LUKS header of ${device}: cryptsetup luksDump printed no header version`);
  return dump;
}

/** What each key slot's PBKDF costs (LUKS1: none listed). */
export async function readSlotKdfs(run: Runner, device: string): Promise<SlotKdf[]> {
  return (await readLuksDump(run, device)).slotKdfs;
}

/** Key slots and tokens of a LUKS2 header. */
export async function readLuksHeader(run: Runner, device: string): Promise<LuksHeader> {
  const dump = await readLuksDump(run, device);
  if (dump.version !== 2) {
    throw new UnlockError('NOT_LUKS', `${device} is LUKS${dump.version}, not LUKS2; luks-ssm enroll and rotate need LUKS2, refusing.`, {
      hint: `convert it: cryptsetup convert --type luks2 ${device}`,
    });
  }
  const tokens: LuksToken[] = [];
  for (const { id, type } of dump.tokens) {
    const json = await exportToken(run, device, id);
    tokens.push({ id, type, keyslots: Array.isArray(json.keyslots) ? json.keyslots.map(Number) : [], json });
  }
  return { keyslots: dump.keyslots, tokens };
}

/** `cryptsetup token export --token-id N`: the token's JSON on stdout. */
export async function exportToken(run: Runner, device: string, id: number): Promise<Record<string, unknown>> {
  const result = await run('cryptsetup', ['token', 'export', '--token-id', String(id), '--', device], { timeoutMs: DEFAULT_QUERY_TIMEOUT_MS });
  if (result.exitCode !== 0 || result.timedOut) {
    throw (await unsupported(run, TOKENS_NEED, 'Reading LUKS2 tokens')) ?? cryptsetupError(`read LUKS2 token ${id} of ${device}`, device, result);
  }
  try {
    const json: unknown = JSON.parse(result.stdout);
    if (typeof json === 'object' && json !== null && !Array.isArray(json)) return json as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new UnlockError('SYSTEM', `Failed to read LUKS2 token ${id} of ${device}: cryptsetup token export printed no JSON object`);
}
