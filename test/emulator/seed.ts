// Bulk setup from JSON (cli --seed FILE, POST /_emulator/seed): keys with aliases, then parameters.
import type { CallContext } from './context.ts';
import { createKey, findKey, forceKeyState } from './kms-keys.ts';
import { findParameter, parseRef } from './ssm-names.ts';
import { labelVersion, storeParameter } from './ssm-write.ts';
import { STATIC_ACCESS_KEY_ID, type KeyState, type State } from './store.ts';

export interface SeedKey {
  alias?: string;
  description?: string;
  state?: KeyState;
  origin?: 'AWS_KMS' | 'EXTERNAL';
}

export interface SeedParameter {
  name: string;
  value: string;
  /** Default SecureString. */
  type?: 'String' | 'StringList' | 'SecureString';
  /** Key id, ARN or alias; default alias/aws/ssm. */
  keyId?: string;
  labels?: string[];
  tier?: 'Standard' | 'Advanced' | 'Intelligent-Tiering';
  description?: string;
}

export interface SeedSpec {
  keys?: SeedKey[];
  /** Listed in order; the same name again adds a version. */
  parameters?: SeedParameter[];
}

export interface SeedResult {
  keys: Array<{ keyId: string; arn: string; alias?: string }>;
  parameters: Array<{ name: string; version: number }>;
}

/** Seeds act as the static test user. */
export function seedContext(state: State): CallContext {
  const identityArn = state.credentials.get(STATIC_ACCESS_KEY_ID)?.identityArn ?? '';
  return { state, identityArn, isDenied: () => false };
}

export function putSeedParameter(state: State, p: SeedParameter): { version: number } {
  const ctx = seedContext(state);
  const type = p.type ?? 'SecureString';
  const { version } = storeParameter(ctx, {
    name: p.name, value: p.value, type, keyId: type === 'SecureString' ? p.keyId : undefined,
    overwrite: true, tier: p.tier, description: p.description,
  });
  if (p.labels !== undefined && p.labels.length > 0) {
    const { invalid } = labelVersion(findParameter(state, parseRef(state, p.name)), version, p.labels);
    if (invalid.length > 0) throw new Error(`invalid SSM labels for ${p.name}: ${invalid.join(', ')}`);
  }
  return { version };
}

export function applySeed(state: State, spec: SeedSpec): SeedResult {
  const result: SeedResult = { keys: [], parameters: [] };
  const created = (spec.keys ?? []).map((k) => {
    const key = createKey(state, { alias: k.alias, description: k.description, origin: k.origin });
    result.keys.push({ keyId: key.keyId, arn: key.arn, ...(k.alias === undefined ? {} : { alias: k.alias }) });
    return { key, state: k.state };
  });
  for (const p of spec.parameters ?? []) {
    result.parameters.push({ name: p.name, version: putSeedParameter(state, p).version });
  }
  // Key states last, so parameters can be encrypted under a key that is then disabled.
  for (const c of created) if (c.state !== undefined) forceKeyState(c.key, c.state);
  return result;
}

export function setKeyState(state: State, keyIdOrAlias: string, keyState: KeyState): void {
  forceKeyState(findKey(state, keyIdOrAlias), keyState);
}
