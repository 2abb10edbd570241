// The luks-ssm-kms LUKS2 token: KMS ciphertext of a passphrase kept in the device's own header, and its import/removal.
import { UnlockError } from '../errors.ts';
import type { Runner } from '../types.ts';
import { DEFAULT_QUERY_TIMEOUT_MS } from './cryptsetup.ts';
import { cryptsetupError } from './exit-status.ts';
import type { LuksHeader, LuksToken } from './header.ts';
import { TOKENS_NEED, unsupported } from './version.ts';

export const KMS_TOKEN_TYPE = 'luks-ssm-kms';
/** LUKS2 allows token ids 0 to 31. */
export const TOKEN_ID_MAX = 31;

/**
 * What the token holds. Nothing here is secret: the ciphertext decrypts only through KMS, under the key's policy,
 * with an encryption context rebuilt from the device itself (the `context` copy is for people reading luksDump).
 */
export interface KmsTokenData {
  /** The KMS key ARN Encrypt answered with. */
  keyId: string;
  /** Base64 CiphertextBlob. */
  ciphertext: string;
  context: Record<string, string>;
  /** Increases with every enroll/rotate: the newest token is tried first. */
  generation: number;
  created: string;
}

export interface KmsToken extends KmsTokenData {
  tokenId: number;
  keyslots: number[];
}

export function kmsTokenJson(data: KmsTokenData, keyslots: readonly number[] = []): string {
  return JSON.stringify({
    type: KMS_TOKEN_TYPE,
    keyslots: keyslots.map(String),
    key_id: data.keyId,
    ciphertext: data.ciphertext,
    context: data.context,
    generation: data.generation,
    created: data.created,
  });
}

function asKmsToken(token: LuksToken): KmsToken | undefined {
  const j = token.json;
  const context = j.context;
  if (token.type !== KMS_TOKEN_TYPE || typeof j.key_id !== 'string' || typeof j.ciphertext !== 'string') return undefined;
  if (typeof context !== 'object' || context === null || Object.values(context).some((v) => typeof v !== 'string')) return undefined;
  return {
    tokenId: token.id,
    keyslots: token.keyslots,
    keyId: j.key_id,
    ciphertext: j.ciphertext,
    context: context as Record<string, string>,
    generation: typeof j.generation === 'number' ? j.generation : 0,
    created: typeof j.created === 'string' ? j.created : '',
  };
}

/**
 * The header's luks-ssm-kms tokens, newest generation first; malformed ones are left out. Of two copies of one
 * generation (an assignment interrupted between import and removal, see assignToken) the one with a slot comes first.
 */
export function kmsTokensOf(header: LuksHeader): KmsToken[] {
  const bound = (t: KmsToken): number => (t.keyslots.length > 0 ? 1 : 0);
  return header.tokens
    .map(asKmsToken)
    .filter((t): t is KmsToken => t !== undefined)
    .sort((a, b) => b.generation - a.generation || bound(b) - bound(a) || b.tokenId - a.tokenId);
}

export function freeTokenId(header: LuksHeader): number {
  const used = new Set(header.tokens.map((t) => t.id));
  for (let id = 0; id <= TOKEN_ID_MAX; id += 1) if (!used.has(id)) return id;
  throw new UnlockError('SYSTEM', 'Failed to add a LUKS2 token: all 32 token ids are in use', { hint: 'see cryptsetup luksDump; remove unused tokens with cryptsetup token remove' });
}

/** `cryptsetup token import --json-file=-` (JSON on stdin) into a free id; with `keySlot` the token is also assigned to it. */
export async function importToken(run: Runner, device: string, json: string, opts: { tokenId: number; keySlot?: number }): Promise<void> {
  const args = [
    'token', 'import', '--json-file=-', '--token-id', String(opts.tokenId),
    ...(opts.keySlot === undefined ? [] : ['--key-slot', String(opts.keySlot)]),
    '--', device,
  ];
  const result = await run('cryptsetup', args, { input: Buffer.from(json, 'utf8'), timeoutMs: DEFAULT_QUERY_TIMEOUT_MS });
  if (result.exitCode === 0 && !result.timedOut) return;
  throw (await unsupported(run, TOKENS_NEED, 'Writing LUKS2 tokens (KEY_SOURCE=kms)')) ?? cryptsetupError(`write LUKS2 token ${opts.tokenId} to ${device}`, device, result);
}

export async function removeToken(run: Runner, device: string, tokenId: number): Promise<void> {
  const result = await run('cryptsetup', ['token', 'remove', '--token-id', String(tokenId), '--', device], { timeoutMs: DEFAULT_QUERY_TIMEOUT_MS });
  if (result.exitCode === 0 && !result.timedOut) return;
  throw (await unsupported(run, TOKENS_NEED, 'Removing LUKS2 tokens (KEY_SOURCE=kms)')) ?? cryptsetupError(`remove LUKS2 token ${tokenId} from ${device}`, device, result);
}

/**
 * Assigns token `tokenId` to key slot `slot` and returns its new id. `--token-replace` needs cryptsetup 2.5, so a copy
 * is imported (with the slot) into a free id first, and only then is the old one removed: a crash in between leaves
 * two copies of one key, the bound one listed first (kmsTokensOf), and the next rotate retires the other.
 */
export async function assignToken(run: Runner, device: string, header: LuksHeader, tokenId: number, slot: number): Promise<number> {
  const token = header.tokens.find((t) => t.id === tokenId);
  if (token === undefined) throw new UnlockError('SYSTEM', `Failed to assign LUKS2 token ${tokenId} of ${device} to key slot ${slot}: the token is gone`);
  const copy = freeTokenId(header);
  await importToken(run, device, JSON.stringify(token.json), { tokenId: copy, keySlot: slot });
  await removeToken(run, device, tokenId);
  return copy;
}
