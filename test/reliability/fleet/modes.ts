// The retry behaviours the fleet simulation compares: the AWS SDK's standard and adaptive modes, and ours.
import { DefaultRateLimiter } from '@smithy/core/retry';
import { AWS_ATTEMPT_TIMEOUT_MS } from '../../../src/aws/client-config.ts';
import { callWithRetry, DEFAULT_THROTTLE_WINDOW_MS } from '../../../src/aws/retry.ts';
import type { SimClock } from './sim-clock.ts';

/** One GetParameter; rejects with a ThrottlingException-shaped error when the account's bucket is empty. */
export type Call = () => Promise<void>;

export interface RetryMode {
  name: string;
  label: string;
  /** Gets the key for one host, or throws when it gives up. */
  fetch(call: Call, clock: SimClock, deadline: number): Promise<void>;
}

/*
 * The SDK's numbers are those of the @smithy/core version this project ships (util-retry: retries-2026-config.js,
 * constants.js): 3 attempts, backoff base 1,000 ms after throttling (50 ms otherwise), delays capped at 20 s.
 */
const SDK_MAX_ATTEMPTS = 3;
const SDK_THROTTLING_BASE_MS = 1_000;
const SDK_MAX_DELAY_MS = 20_000;

async function sdkRetry(call: Call, clock: SimClock, limiter?: RateLimiter): Promise<void> {
  for (let retries = 0; ; retries += 1) {
    await limiter?.getSendToken();
    try {
      await call();
      limiter?.updateClientSendingRate({});
      return;
    } catch (err) {
      limiter?.updateClientSendingRate({ errorType: 'THROTTLING', error: err });
      if (retries + 1 >= SDK_MAX_ATTEMPTS) throw err;
      await clock.sleep(Math.floor(clock.random() * Math.min(SDK_THROTTLING_BASE_MS * 2 ** retries, SDK_MAX_DELAY_MS)));
    }
  }
}

interface RateLimiter {
  getSendToken(): Promise<void>;
  updateClientSendingRate(response: unknown): void;
}

/** DefaultRateLimiter as it is at run time: its clock and timer hooks are private only in its type declarations. */
const Limiter = DefaultRateLimiter as unknown as { new (): RateLimiter; setTimeoutFn: (fn: () => void, delay: number) => unknown };

/** The SDK's real adaptive rate limiter (CUBIC), reading the simulated clock instead of Date.now(). */
function simulatedLimiter(clock: SimClock): RateLimiter {
  class SimLimiter extends Limiter {
    getCurrentTimeInSeconds(): number {
      return clock.now() / 1000;
    }
  }
  // As Node's setTimeout, a delay under 1 ms waits 1 ms (the limiter's loop relies on time moving on).
  Limiter.setTimeoutFn = (fn, delay) => clock.at(clock.now() + Math.max(1, delay), fn);
  return new SimLimiter();
}

export const RETRY_MODES: RetryMode[] = [
  {
    name: 'sdk-standard',
    label: 'SDK standard (3 attempts)',
    fetch: (call, clock) => sdkRetry(call, clock),
  },
  {
    name: 'sdk-adaptive',
    label: 'SDK adaptive (3 attempts, client rate limiter)',
    fetch: (call, clock) => sdkRetry(call, clock, simulatedLimiter(clock)),
  },
  {
    name: 'backoff-5s',
    label: 'luks-ssm before: full-jitter backoff, cap 5 s, until the deadline',
    fetch: (call, clock, deadline) => callWithRetry(call, { deadline, clock, what: 'get SSM parameter', attemptTimeoutMs: AWS_ATTEMPT_TIMEOUT_MS, throttleWindowMs: 0 }),
  },
  {
    name: 'window-20s',
    label: `luks-ssm default: after throttling, anywhere in ${DEFAULT_THROTTLE_WINDOW_MS / 1000} s, until the deadline`,
    fetch: (call, clock, deadline) => callWithRetry(call, { deadline, clock, what: 'get SSM parameter', attemptTimeoutMs: AWS_ATTEMPT_TIMEOUT_MS }),
  },
];
