// Calls AWS (or instance metadata) until it answers or our deadline passes: capped full-jitter backoff.
import { UnlockError } from '../errors.ts';
import type { Clock, Logger } from '../types.ts';
import { abortAfter, formatSeconds } from './deadline.ts';
import { classifyTransient, describeTransient, isMalformedResponse, malformedResponseError, type TransientFailure } from './transient.ts';

/** Backoff base and cap, as in the AWS SDKs' standard retry mode (base 100 ms, cap 20 s; ours 5 s for boot). */
export const DEFAULT_RETRY_BASE_MS = 100;
export const DEFAULT_RETRY_CAP_MS = 5_000;
/**
 * After SSM or KMS says "throttled", wait a random part of this window (full jitter, not growing): a fleet
 * booting together then spreads its retries evenly below the account's rate limit instead of coming back
 * in waves. Chosen by the fleet simulation of #14 (docs/reliability): at 1,000 hosts and 40 TPS the last key
 * arrives within 1.2× the theoretical minimum with under 2 calls per host; exponential backoff capped at 5 s
 * retried in waves and took four times as many calls.
 */
export const DEFAULT_THROTTLE_WINDOW_MS = 20_000;
const THROTTLE_WINDOW_MIN_MS = 1_000;

/** A transient failure that will be retried: for the service status line and for asking a person meanwhile. */
export interface RetryNotice {
  what: string;
  attempt: number;
  /** "connection refused", "HTTP 503", "throttled": the class of the failure, never a response body. */
  reason: string;
  retryInMs: number;
}

/** What a caller racing the retries (start's password question) passes down to every AWS call. */
export interface RetryHooks {
  /** Stops retrying at once (the attempt in flight is aborted too): someone else opened the volume. */
  signal?: AbortSignal;
  onRetry?: (notice: RetryNotice) => void;
}

export interface RetryOptions extends RetryHooks {
  /** Absolute epoch ms (from clock.now()) after which no attempt starts and none is waited for. */
  deadline: number;
  clock: Clock;
  log?: Logger;
  /** What is being done, for messages: "get SSM parameter /x" -> "Failed to get SSM parameter /x: …". */
  what: string;
  baseMs?: number;
  capMs?: number;
  /** Abort a single attempt after this long (it is then retried); the deadline bounds it anyway. */
  attemptTimeoutMs?: number;
  /** Window for the delay after an AWS throttling answer (DEFAULT_THROTTLE_WINDOW_MS); 0 backs off like any failure. */
  throttleWindowMs?: number;
}

/** Full jitter ("Exponential Backoff and Jitter", AWS Architecture Blog 2015): random in [0, min(cap, base·2^(n-1))). */
export function backoffMs(attempt: number, random: number, baseMs: number, capMs: number): number {
  return random * Math.min(capMs, baseMs * 2 ** (attempt - 1));
}

/**
 * The wait before the next attempt: throttled by AWS → anywhere in the window, the window never more than a
 * third of the time left (a short TIMEOUT_SEC still gets several tries); anything else → capped backoff.
 */
export function retryDelayMs(last: TransientFailure | undefined, attempts: number, random: number, o: { baseMs: number; capMs: number; throttleWindowMs: number; remainingMs: number }): number {
  if (last?.kind === 'throttled' && !last.imds && o.throttleWindowMs > 0) {
    // At least a second, so the last moments before the deadline are not spent in a tight loop.
    return random * Math.min(o.throttleWindowMs, Math.max(o.remainingMs / 3, THROTTLE_WINDOW_MIN_MS));
  }
  return backoffMs(attempts, random, o.baseMs, o.capMs);
}

function abortedError(opts: RetryOptions): Error {
  return Object.assign(new Error(`Stopped trying to ${opts.what}: no longer needed`), { name: 'AbortError' });
}

/** Sleeps, or wakes early when `signal` fires. */
async function sleepUnlessAborted(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return clock.sleep(ms);
  if (signal.aborted) return;
  let onAbort = () => {};
  const aborted = new Promise<void>((resolve) => {
    onAbort = resolve;
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([clock.sleep(ms), aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function deadlineError(opts: RetryOptions, attempts: number, elapsedMs: number, last: TransientFailure | undefined, cause: unknown): UnlockError {
  const over = `over ${formatSeconds(elapsedMs)} s`;
  const tries = `${attempts} attempt${attempts === 1 ? '' : 's'}`;
  const message = last === undefined
    ? `Failed to ${opts.what}: the deadline had passed before the first attempt`
    : `Failed to ${opts.what}: ${describeTransient(last)} on ${tries} ${over}, giving up at the deadline`;
  const kind = last === undefined || last.kind === 'timeout' ? 'TIMEOUT' : 'AWS_UNAVAILABLE';
  return new UnlockError(kind, message, { cause, retryable: true });
}

/**
 * Runs `attempt` until it resolves, throws a final (non-transient) error, or the deadline passes. Each
 * attempt gets a signal that fires at the deadline (or after attemptTimeoutMs) and is raced against it,
 * so an attempt that ignores the signal still cannot outlive the deadline. Final errors are rethrown
 * unchanged for the caller to map; a passed deadline throws UnlockError TIMEOUT or AWS_UNAVAILABLE.
 */
export async function callWithRetry<T>(attempt: (signal: AbortSignal) => Promise<T>, opts: RetryOptions): Promise<T> {
  const { clock, deadline } = opts;
  const baseMs = opts.baseMs ?? DEFAULT_RETRY_BASE_MS;
  const capMs = opts.capMs ?? DEFAULT_RETRY_CAP_MS;
  const throttleWindowMs = opts.throttleWindowMs ?? DEFAULT_THROTTLE_WINDOW_MS;
  const start = clock.now();
  let attempts = 0;
  let last: TransientFailure | undefined;
  let lastError: unknown;
  for (;;) {
    if (opts.signal?.aborted) throw abortedError(opts);
    const remaining = deadline - clock.now();
    if (remaining <= 0) throw deadlineError(opts, attempts, clock.now() - start, last, lastError);
    attempts += 1;
    const attemptMs = opts.attemptTimeoutMs ?? Infinity;
    const timer = abortAfter(Math.min(remaining, attemptMs), opts.signal);
    try {
      return await Promise.race([attempt(timer.signal), timer.aborted]);
    } catch (err) {
      if (opts.signal?.aborted) throw abortedError(opts);
      const aborted = timer.signal.aborted;
      const failure = aborted ? { kind: 'timeout' as const, detail: `after ${formatSeconds(timer.ms)} s`, imds: false } : classifyTransient(err);
      if (failure === undefined) throw err;
      // An attempt cut short by the deadline says less than the failures before it: keep theirs.
      if (!(aborted && remaining <= attemptMs && last !== undefined)) {
        last = failure;
        // Kept as the final error's cause: never the SDK's parser error, which quotes the body.
        lastError = isMalformedResponse(err) ? malformedResponseError(err) : err;
      }
    } finally {
      timer.dispose();
    }
    const left = Math.max(0, deadline - clock.now());
    const delay = Math.min(retryDelayMs(last, attempts, clock.random(), { baseMs, capMs, throttleWindowMs, remainingMs: left }), left);
    opts.log?.warn(
      { what: opts.what, attempt: attempts, reason: describeTransient(last), retryInMs: Math.round(delay) },
      `Failed to ${opts.what}: ${describeTransient(last)}, retrying`,
    );
    opts.onRetry?.({ what: opts.what, attempt: attempts, reason: describeTransient(last), retryInMs: Math.round(delay) });
    await sleepUnlessAborted(clock, delay, opts.signal);
  }
}
