// headStart: work begun before anyone asks, handed over with its retry notices and abort (start's AWS warm-up).
import { describe, expect, it } from 'vitest';
import { headStart } from '../../src/aws/head-start.ts';
import type { RetryHooks, RetryNotice } from '../../src/aws/retry.ts';

const notice = (attempt: number): RetryNotice => ({ what: 'get SSM parameter /x', attempt, reason: 'connection refused', retryInMs: 100 });

/** Work that reports the notices it is told to and ends when released or aborted. */
function controllableWork() {
  let hooks: RetryHooks | undefined;
  let release!: (value: string) => void;
  const work = (given: RetryHooks) => {
    hooks = given;
    return new Promise<string>((resolve, reject) => {
      release = resolve;
      given.signal?.addEventListener('abort', () => reject(new Error('aborted')));
    });
  };
  return { work, retry: (n: number) => hooks?.onRetry?.(notice(n)), release: (v: string) => release(v), signal: () => hooks?.signal };
}

describe('headStart', () => {
  it('starts the work at once and gives its result to whoever joins later', async () => {
    const w = controllableWork();
    const early = headStart(w.work);
    expect(w.signal()?.aborted).toBe(false);
    w.release('context');
    expect(await early.join()).toBe('context');
  });

  it('replays the last notice before the join, then passes on every later one', async () => {
    const w = controllableWork();
    const early = headStart(w.work);
    w.retry(1);
    w.retry(2);
    const seen: number[] = [];
    const joined = early.join({ onRetry: (n) => seen.push(n.attempt) });
    expect(seen).toEqual([2]);
    w.retry(3);
    expect(seen).toEqual([2, 3]);
    w.release('done');
    await joined;
  });

  it('replays nothing once the work has ended: a retry that was followed by success is history', async () => {
    const w = controllableWork();
    const early = headStart(w.work);
    w.retry(1);
    w.release('context');
    await new Promise((resolve) => setTimeout(resolve, 0));
    const seen: number[] = [];
    expect(await early.join({ onRetry: (n) => seen.push(n.attempt) })).toBe('context');
    expect(seen).toEqual([]);
  });

  it("aborts the work when the joiner's signal aborts, or already has", async () => {
    const w = controllableWork();
    const stop = new AbortController();
    const joined = headStart(w.work).join({ signal: stop.signal });
    stop.abort();
    await expect(joined).rejects.toThrow('aborted');

    const w2 = controllableWork();
    const early = headStart(w2.work);
    await expect(early.join({ signal: AbortSignal.abort() })).rejects.toThrow('aborted');
    expect(w2.signal()?.aborted).toBe(true);
  });

  it('stop aborts work nobody joined, and its failure is no unhandled rejection', async () => {
    const w = controllableWork();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      headStart(w.work).stop();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(w.signal()?.aborted).toBe(true);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
