// Picks the key store for KEY_SOURCE: SSM parameter versions, or KMS ciphertext tokens in the LUKS2 header.
import type { VolumeConfig } from '../types.ts';
import { createKmsStore } from './kms-store.ts';
import { createSsmStore } from './ssm-store.ts';
import type { LifecycleDeps } from './steps.ts';
import type { KeyStore } from './store.ts';

export function createStore(config: VolumeConfig, deps: LifecycleDeps, device: string): KeyStore {
  const common = { env: deps.env, clock: deps.clock, log: deps.log, device };
  if ((config.keySource ?? 'ssm') === 'kms') return createKmsStore(config, { ...common, run: deps.run });
  return createSsmStore(config, { ...common, hostname: deps.hostname });
}
