// What enroll and rotate need of a place that keeps passphrases (SSM versions, or KMS tokens in the LUKS header).
import { pbkdfForNewSlot } from '../luks/kdf.ts';
import type { Secret } from '../secret/secret.ts';
import type { PbkdfSettings, VolumeConfig } from '../types.ts';
import { isGeneratedForm } from './passphrase.ts';

export interface StoredKey {
  /** "version 4", "token 2": for messages and the plan. */
  label: string;
  /** The key bytes cryptsetup gets. */
  secret: Secret;
  /** SSM: the stored value (differs from `secret` with SSM_VALUE_ENCODING=base64), compared across regions. */
  value?: Secret;
  /** KMS: the LUKS2 token holding it, and the slots that token is assigned to. */
  tokenId?: number;
  keyslots?: number[];
}

export interface KeyStore {
  /** "SSM parameter /luks/data", "luks-ssm-kms tokens of /dev/xvdf". */
  readonly description: string;
  /** True when keys that open nothing simply stay (SSM history); false when they are cleaned up (tokens). */
  readonly keepsStaleKeys: boolean;
  /** Newest first, as start would try them. The caller wipes them (wipeKeys). */
  list(): Promise<StoredKey[]>;
  /** What must be written before an older key may be removed (a replica region behind); empty when nothing. */
  pendingRepairs(newest: StoredKey): Promise<string[]>;
  repair(newest: StoredKey): Promise<void>;
  /** A new passphrase (KMS GenerateRandom), not stored yet. */
  generate(): Promise<Secret>;
  /** Stores `value` as the newest key everywhere start reads it. `create`: the first one (enroll). */
  store(value: Secret, opts: { create: boolean }): Promise<StoredKey>;
  /** After the key opens `slot`: ties the two together where the store records that (tokens). */
  bind(key: StoredKey, slot: number): Promise<void>;
  /** The key's slot has been removed: forget the key where the store can (tokens). */
  retire(key: StoredKey): Promise<void>;
}

export function wipeKeys(keys: Iterable<StoredKey>): void {
  for (const key of keys) {
    if (!key.secret.wiped) key.secret.wipe();
    if (key.value !== undefined && !key.value.wiped) key.value.wipe();
  }
}

/** The PBKDF of the slot a stored key is added in: minimal for a generated key unless LUKS_PBKDF* says otherwise. */
export function pbkdfForKey(config: VolumeConfig, key: Pick<StoredKey, 'secret' | 'value'>): PbkdfSettings | undefined {
  return pbkdfForNewSlot(config.pbkdf, isGeneratedForm(key.value ?? key.secret));
}
