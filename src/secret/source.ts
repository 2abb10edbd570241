// The one small interface every key source (SSM today; KMS ciphertext, other regions later) sits behind.
import type { Secret } from './secret.ts';

export interface FetchedKey {
  secret: Secret;
  /** Where it came from, for logs and the unlock record: a name, never the value. */
  source: string;
  version: number | undefined;
  region: string | undefined;
}

export interface KeySource {
  /** For messages: "SSM parameter /luks/data". */
  readonly description: string;
  /** Fetches the key; throws UnlockError. Must finish by `deadline` (epoch ms). */
  fetch(deadline: number): Promise<FetchedKey>;
}
