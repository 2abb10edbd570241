// One overall deadline (absolute epoch ms from clock.now()) and the abort signals that enforce it per attempt.
import type { Clock } from '../types.ts';

/** The absolute deadline `timeoutSec` from now. */
export function deadlineAfter(clock: Clock, timeoutSec: number): number {
  return clock.now() + timeoutSec * 1000;
}

export function remainingMs(deadline: number, clock: Clock): number {
  return Math.max(0, deadline - clock.now());
}

export interface AttemptSignal {
  signal: AbortSignal;
  /** The delay the signal was armed with. */
  ms: number;
  /** Settles (rejects with the abort reason) when the signal fires: race an attempt that may ignore it. */
  aborted: Promise<never>;
  /** Clears the timer; call when the attempt is over. */
  dispose(): void;
}

/**
 * A signal that fires after `ms` of real time (computed from the injected clock by the caller). The timer
 * is unref'd so it never keeps the process alive, and disposed after each attempt.
 */
export function abortAfter(ms: number, outer?: AbortSignal): AttemptSignal {
  const controller = new AbortController();
  let fire: (reason: unknown) => void = () => {};
  const aborted = new Promise<never>((_resolve, reject) => {
    fire = reject;
  });
  aborted.catch(() => {});
  const abort = (why: string) => {
    const reason = Object.assign(new Error(why), { name: 'AbortError' });
    controller.abort(reason);
    fire(reason);
  };
  const timer = setTimeout(() => abort(`attempt aborted after ${ms} ms`), Math.max(0, ms));
  timer.unref();
  // The caller's own signal (start no longer needs the key) cuts the attempt short as well.
  const onOuter = () => abort('attempt aborted: no longer needed');
  outer?.addEventListener('abort', onOuter, { once: true });
  if (outer?.aborted) onOuter();
  return {
    signal: controller.signal,
    ms,
    aborted,
    dispose: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    },
  };
}

/** "30.0" for 30000 ms: messages give seconds with one decimal. */
export function formatSeconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
