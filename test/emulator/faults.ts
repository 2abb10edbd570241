// Fault injection: latency, 5xx, throttling, denied actions, dropped connections, IMDS outages, mutated bodies.
import type { MutateBodySpec, MutationOp } from './mutate.ts';

/** 'ssm', 'kms', 'imds', 'ssm:GetParameter', 'kms:*' or '*'. */
export type Match = string;

/** A token bucket ({rate, burst}), or a deterministic share of requests refused ({share: 0.5}: the 1st, 3rd, 5th…). */
export type ThrottleSpec = {
  /** Tokens added per second. */
  rate: number;
  /** Bucket size: requests allowed back to back from full. */
  burst: number;
} | { share: number };

export interface FaultSpec {
  /** Delay before answering: one number for every SSM/KMS request, or per match ({'kms:Decrypt': 300, imds: 50}). */
  latencyMs?: number | Record<Match, number>;
  /**
   * Answer 500 (InternalServerError / KMSInternalException) or 503 (ServiceUnavailable): the next `count`
   * matching requests, and/or a `rate` in [0, 1] applied deterministically (rate 0.5 fails every second one).
   */
  serverErrors?: { count?: number; rate?: number; status?: 500 | 503; match?: Match } | null;
  /** Token bucket per service; an empty bucket answers ThrottlingException "Rate exceeded". null removes it. */
  throttle?: { ssm?: ThrottleSpec | null; kms?: ThrottleSpec | null };
  /** IAM actions denied to every caller, e.g. ['ssm:GetParameter', 'kms:Decrypt'] ('ssm:*' works too). */
  denyActions?: string[];
  /** Destroy the connection without a response for the next N matching requests (default match: ssm and kms). */
  resetNext?: number | { count: number; match?: Match };
  /**
   * IMDS: 'slow' waits imdsDelayMs before each answer, 'absent' drops connections, 'notfound' answers 404,
   * 'token-refused' answers the IMDSv2 token PUT with 403 (as IMDS does to a request that came through a proxy).
   */
  imds?: 'ok' | 'slow' | 'absent' | 'notfound' | 'token-refused';
  imdsDelayMs?: number;
  /** Treat every session (IMDS-issued) credential as expired: ExpiredTokenException. */
  expireSessions?: boolean;
  /** Edit the bytes of the next answers (fuzzing the client's response handling); see mutate.ts. */
  mutateBody?: MutateBodySpec | null;
}

export const DEFAULT_IMDS_DELAY_MS = 2_000;

export interface Faults {
  set(spec: FaultSpec): void;
  reset(): void;
  /** The effective spec, for the control API (holds no secrets). */
  current(): FaultSpec;
  latencyFor(service: string, action: string): number;
  takeReset(service: string, action: string): boolean;
  takeServerError(service: string, action: string): 500 | 503 | undefined;
  takeThrottle(service: string, now: number): boolean;
  isDenied(action: string): boolean;
  /** The edits for this answer, if a mutateBody fault matches it (counts it down). */
  takeMutation(service: string, action: string): { ops: MutationOp[]; keepLength: boolean } | undefined;
}

export function matches(pattern: Match, service: string, action: string): boolean {
  if (pattern === '*' || pattern === service || pattern === `${service}:*`) return true;
  return pattern === `${service}:${action}`;
}

const awsOnly = (service: string): boolean => service === 'ssm' || service === 'kms';

export function createFaults(): Faults {
  let spec: FaultSpec = {};
  let serverErrorsLeft = 0;
  let serverErrorDebt = 0;
  let resetsLeft = 0;
  let mutationsLeft = Infinity;
  const buckets = new Map<string, { tokens: number; last: number }>();
  const throttleDebt = new Map<string, number>();

  const faults: Faults = {
    set(next) {
      const throttle = { ...spec.throttle, ...next.throttle };
      spec = { ...spec, ...next, throttle };
      if (next.throttle !== undefined) {
        for (const service of Object.keys(next.throttle)) {
          buckets.delete(service);
          throttleDebt.delete(service);
        }
      }
      if (next.serverErrors !== undefined) {
        serverErrorsLeft = next.serverErrors?.count ?? 0;
        serverErrorDebt = 0;
      }
      if (next.mutateBody !== undefined) mutationsLeft = next.mutateBody?.count ?? Infinity;
      if (next.resetNext !== undefined) resetsLeft = typeof next.resetNext === 'number' ? next.resetNext : next.resetNext.count;
    },
    reset() {
      spec = {};
      serverErrorsLeft = 0;
      serverErrorDebt = 0;
      resetsLeft = 0;
      mutationsLeft = Infinity;
      buckets.clear();
      throttleDebt.clear();
    },
    current: () => structuredClone(spec),
    latencyFor(service, action) {
      const latency = spec.latencyMs;
      if (typeof latency === 'number') return awsOnly(service) ? latency : 0;
      let total = 0;
      for (const [pattern, ms] of Object.entries(latency ?? {})) if (matches(pattern, service, action)) total = Math.max(total, ms);
      return total;
    },
    takeReset(service, action) {
      const reset = spec.resetNext;
      const match = typeof reset === 'object' ? reset.match : undefined;
      if (resetsLeft <= 0 || !(match === undefined ? awsOnly(service) : matches(match, service, action))) return false;
      resetsLeft -= 1;
      return true;
    },
    takeServerError(service, action) {
      const errors = spec.serverErrors;
      if (!errors || !(errors.match === undefined ? awsOnly(service) : matches(errors.match, service, action))) return undefined;
      const status = errors.status ?? 500;
      if (serverErrorsLeft > 0) {
        serverErrorsLeft -= 1;
        return status;
      }
      serverErrorDebt += errors.rate ?? 0;
      if (serverErrorDebt < 1) return undefined;
      serverErrorDebt -= 1;
      return status;
    },
    takeThrottle(service, now) {
      const limits = spec.throttle?.[service as 'ssm' | 'kms'];
      if (!limits) return false;
      if ('share' in limits) {
        // Starting one share short of a refusal makes the first call a refused one: a run of one call meets the fault.
        const debt = (throttleDebt.get(service) ?? 1 - limits.share) + limits.share;
        throttleDebt.set(service, debt >= 1 ? debt - 1 : debt);
        return debt >= 1;
      }
      const bucket = buckets.get(service) ?? { tokens: limits.burst, last: now };
      bucket.tokens = Math.min(limits.burst, bucket.tokens + ((now - bucket.last) / 1000) * limits.rate);
      bucket.last = now;
      buckets.set(service, bucket);
      if (bucket.tokens < 1) return true;
      bucket.tokens -= 1;
      return false;
    },
    takeMutation(service, action) {
      const mutate = spec.mutateBody;
      if (!mutate || mutationsLeft <= 0) return undefined;
      if (!(mutate.match === undefined ? service !== 'control' : matches(mutate.match, service, action))) return undefined;
      mutationsLeft -= 1;
      return { ops: mutate.ops, keepLength: mutate.keepLength === true };
    },
    isDenied(action) {
      const [service, name] = action.split(':');
      return (spec.denyActions ?? []).some((pattern) => matches(pattern, service, name));
    },
  };
  return faults;
}
