// The LUKS2 header as every cryptsetup from 2.2 shows it: key slot and token ids from `luksDump`'s text, each
// token's JSON from `token export` (`luksDump --dump-json-metadata` needs 2.4: not on Debian 11, RHEL 8, Ubuntu 20.04).
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
  tokens: Array<{ id: number; type: string }>;
}

/**
 * luksDump text: "Version: 2", then sections ("Keyslots:", "Tokens:", …) whose entries start "  <id>: <type>"
 * (two spaces; details below them are tab-indented). The same layout from cryptsetup 2.0 to 2.7.
 */
export function parseLuksDump(text: string): LuksDump | undefined {
  const version = /^Version:\s*(\d+)\s*$/m.exec(text)?.[1];
  if (version === undefined) return undefined;
  const dump: LuksDump = { version: Number(version), keyslots: [], tokens: [] };
  let section = '';
  for (const line of text.split('\n')) {
    const heading = /^(\S[^:]*):\s*$/.exec(line);
    if (heading !== null) {
      section = heading[1]!;
      continue;
    }
    const entry = /^ {2}(\d+): (\S+)/.exec(line);
    if (entry === null) continue;
    if (section === 'Keyslots') dump.keyslots.push(Number(entry[1]));
    if (section === 'Tokens') dump.tokens.push({ id: Number(entry[1]), type: entry[2]! });
  }
  dump.keyslots.sort((a, b) => a - b);
  dump.tokens.sort((a, b) => a.id - b.id);
  return dump;
}

/** Key slots and tokens (no key material is ever read: luksDump without --dump-volume-key). */
export async function readLuksHeader(run: Runner, device: string): Promise<LuksHeader> {
  const result = await run('cryptsetup', ['luksDump', '--', device], { timeoutMs: DEFAULT_QUERY_TIMEOUT_MS });
  if (result.exitCode !== 0 || result.timedOut) throw cryptsetupError(`read the LUKS2 header of ${device}`, device, result);
  const dump = parseLuksDump(result.stdout);
  if (dump === undefined) throw new UnlockError('SYSTEM', `Failed to read the LUKS2 header of ${device}: cryptsetup luksDump printed no header version`);
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
