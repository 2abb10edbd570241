// KMS key lifecycle and lookup (id, key ARN, alias name, alias ARN) with KMS's own error messages.
import { randomUUID } from 'node:crypto';
import { AwsError } from './errors.ts';
import { newKeyMaterial } from './kms-crypto.ts';
import type { KeyState, KmsKey, State } from './store.ts';

export const SSM_DEFAULT_ALIAS = 'alias/aws/ssm';

export interface CreateKeyOptions {
  alias?: string;
  description?: string;
  origin?: 'AWS_KMS' | 'EXTERNAL';
  manager?: 'CUSTOMER' | 'AWS';
}

export function keyArn(state: State, keyId: string): string {
  return `arn:aws:kms:${state.region}:${state.accountId}:key/${keyId}`;
}

export function aliasArn(state: State, alias: string): string {
  return `arn:aws:kms:${state.region}:${state.accountId}:${alias}`;
}

export function createKey(state: State, opts: CreateKeyOptions = {}): KmsKey {
  const keyId = randomUUID();
  const origin = opts.origin ?? 'AWS_KMS';
  const key: KmsKey = {
    keyId,
    arn: keyArn(state, keyId),
    material: origin === 'EXTERNAL' ? undefined : newKeyMaterial(),
    state: origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled',
    description: opts.description ?? '',
    origin,
    manager: opts.manager ?? 'CUSTOMER',
    created: Date.now(),
  };
  state.keys.set(keyId, key);
  if (opts.alias !== undefined) addAlias(state, opts.alias, keyId);
  return key;
}

export function addAlias(state: State, alias: string, keyId: string): void {
  if (!/^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(alias)) {
    throw new AwsError('ValidationException', `1 validation error detected: Value '${alias}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$`);
  }
  if (state.aliases.has(alias)) {
    throw new AwsError('AlreadyExistsException', `An alias with the name ${aliasArn(state, alias)} already exists`);
  }
  state.aliases.set(alias, { name: alias, keyId, created: Date.now() });
}

/**
 * Finds a key by id, key ARN, alias name or alias ARN (aliases only where KMS accepts them).
 * The default alias/aws/ssm key is created on first use, as SSM does in a fresh account.
 */
export function findKey(state: State, ref: string, allowAlias = true): KmsKey {
  const arnMatch = /^arn:aws:kms:([^:]*):(\d*):(key\/.+|alias\/.+)$/.exec(ref);
  const local = arnMatch ? arnMatch[3] : ref;
  if (arnMatch && (arnMatch[1] !== state.region || arnMatch[2] !== state.accountId)) {
    throw new AwsError('NotFoundException', `Key '${ref}' does not exist`);
  }
  if (local.startsWith('alias/')) {
    if (!allowAlias) throw new AwsError('NotFoundException', `Invalid keyId '${ref}'`);
    if (local === SSM_DEFAULT_ALIAS && !state.aliases.has(local)) {
      createKey(state, { alias: SSM_DEFAULT_ALIAS, description: 'Default key that protects my SSM parameters when no other key is defined', manager: 'AWS' });
    }
    const alias = state.aliases.get(local);
    if (alias === undefined) throw new AwsError('NotFoundException', `Alias ${aliasArn(state, local)} is not found.`);
    return mustGet(state, alias.keyId);
  }
  const keyId = local.startsWith('key/') ? local.slice(4) : local;
  if (!/^[0-9a-f-]{36}$/.test(keyId)) throw new AwsError('NotFoundException', `Invalid keyId '${ref}'`);
  return mustGet(state, keyId);
}

function mustGet(state: State, keyId: string): KmsKey {
  const key = state.keys.get(keyId);
  if (key === undefined) throw new AwsError('NotFoundException', `Key '${keyArn(state, keyId)}' does not exist`);
  return key;
}

/** The key-state errors of KMS's cryptographic operations (see "Key states of AWS KMS keys"). */
export function requireUsable(key: KmsKey): Buffer {
  if (key.state === 'Disabled') throw new AwsError('DisabledException', `${key.arn} is disabled.`);
  if (key.state === 'PendingDeletion') throw new AwsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
  if (key.state === 'PendingImport' || key.material === undefined) {
    throw new AwsError('KMSInvalidStateException', `${key.arn} is pending import.`);
  }
  return key.material;
}

/** Test-side state change: anything goes, including "imported material expired" (PendingImport). */
export function forceKeyState(key: KmsKey, state: KeyState): void {
  key.state = state;
  if (state === 'PendingDeletion') {
    key.pendingWindowInDays = key.pendingWindowInDays ?? 30;
    key.deletionDate = Date.now() + key.pendingWindowInDays * 86_400_000;
  } else {
    key.deletionDate = undefined;
    key.pendingWindowInDays = undefined;
  }
  if (state === 'Enabled' && key.material === undefined) key.material = newKeyMaterial();
}

/** A key past its deletion window: gone, with its aliases. */
export function deleteKeyNow(state: State, key: KmsKey): void {
  state.keys.delete(key.keyId);
  for (const [name, alias] of state.aliases) if (alias.keyId === key.keyId) state.aliases.delete(name);
}
