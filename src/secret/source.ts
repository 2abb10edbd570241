// The one small interface every key source (SSM today; KMS ciphertext, other regions later) sits behind.
import type { RetryHooks } from '../aws/retry.ts';
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
  /**
   * Keys to try, best first: the current one, then (for sources that keep history) older ones, so a rotation
   * interrupted between adding the new key and writing it everywhere never locks a volume out. The consumer
   * wipes each key it is given and stops asking once one opens. Throws UnlockError; must finish by `deadline`.
   */
  keys(deadline: number, hooks?: RetryHooks): AsyncGenerator<FetchedKey, void, undefined>;
  /**
   * Starts what fetching needs that is no secret (the SDK, credentials), so that it overlaps start's local checks;
   * the next keys() carries on from it. Stopped when start ends without fetching.
   */
  warmUp?(deadline: number): WarmUp;
}

export interface WarmUp {
  stop(): void;
}

/** The first key a source offers (check, fetch): the source's own errors propagate. */
export async function firstKey(source: KeySource, deadline: number): Promise<FetchedKey> {
  const keys = source.keys(deadline);
  try {
    const first = await keys.next();
    if (first.done) throw new Error(`${source.description} offered no key`);
    return first.value;
  } finally {
    await keys.return(undefined);
  }
}

/** A source built on first use, so verbs that never fetch a key never load the AWS SDK. */
export function deferKeySource(load: () => Promise<KeySource>): KeySource {
  let loaded: Promise<KeySource> | undefined;
  let described = 'the configured key source';
  return {
    get description() {
      return described;
    },
    async *keys(deadline, hooks) {
      const source = await (loaded ??= load());
      described = source.description;
      yield* source.keys(deadline, hooks);
    },
    warmUp(deadline) {
      let stopped = false;
      let started: WarmUp | undefined;
      // Registered before any keys() can wait on the same load, so the warm-up is in place when keys() runs.
      (loaded ??= load()).then((source) => {
        if (!stopped) started = source.warmUp?.(deadline);
      }).catch(() => undefined);
      return {
        stop() {
          stopped = true;
          started?.stop();
        },
      };
    },
  };
}
