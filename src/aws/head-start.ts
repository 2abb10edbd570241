// Work started before anyone asks for it (start's AWS set-up, while the local checks run), handed over later to
// whoever asks as if they had started it: their retry notices and their abort reach it from then on.
import type { AwsContext } from './clients.ts';
import type { RetryHooks, RetryNotice } from './retry.ts';

export interface HeadStart<T> {
  /** The work's result; `hooks` get the last retry notice so far at once, and every later one. */
  join(hooks?: RetryHooks): Promise<T>;
  /** Aborts the work (nobody joined it, or it is no longer needed). */
  stop(): void;
}

export function headStart<T>(work: (hooks: RetryHooks) => Promise<T>): HeadStart<T> {
  const abort = new AbortController();
  let joined: RetryHooks | undefined;
  let lastNotice: RetryNotice | undefined;
  const hooks: RetryHooks = {
    signal: abort.signal,
    onRetry: (notice) => {
      lastNotice = notice;
      joined?.onRetry?.(notice);
    },
  };
  const result = (async () => {
    try {
      return await work(hooks);
    } finally {
      // Once the work has ended its notices are history (before anyone can see its result): replayed, one would
      // open start's password question (and show "retrying" in its status line) although AWS answered.
      lastNotice = undefined;
    }
  })();
  // Nobody may ever join (start refused before fetching): its failure must not be an unhandled rejection.
  result.catch(() => undefined);
  return {
    join(hooks) {
      joined = hooks ?? {};
      const signal = hooks?.signal;
      if (signal?.aborted) abort.abort();
      else signal?.addEventListener('abort', () => abort.abort(), { once: true });
      if (lastNotice !== undefined) hooks?.onRetry?.(lastNotice);
      return result;
    },
    stop: () => abort.abort(),
  };
}

/** A key source's AWS context begun early: `open` makes it, then its `client` and the credentials are started. */
export function warmContext(open: (hooks: RetryHooks) => Promise<AwsContext>, client: 'ssm' | 'kms'): HeadStart<AwsContext> {
  return headStart(async (hooks) => {
    const aws = await open(hooks);
    aws.warm(client);
    return aws;
  });
}
