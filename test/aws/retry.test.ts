// callWithRetry: full-jitter capped backoff, transient-only retries, and a deadline that is never passed.
import { describe, expect, it } from 'vitest';
import { SSMServiceException, InternalServerError, ParameterNotFound } from '@aws-sdk/client-ssm';
import { backoffMs, callWithRetry, DEFAULT_THROTTLE_WINDOW_MS } from '../../src/aws/retry.ts';
import { UnlockError } from '../../src/errors.ts';
import { createFakeClock, createRecordingLogger } from './fakes.ts';

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode }, $fault: 'client' as const });
const throttled = () => new SSMServiceException({ name: 'ThrottlingException', message: 'Rate exceeded', ...meta(400) });
const serverError = () => new InternalServerError({ message: 'internal', ...meta(500) });
const reset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

/** An attempt that fails with the given errors in turn, then answers `value`. */
function failing<T>(errors: Error[], value: T) {
  let calls = 0;
  const attempt = async (): Promise<T> => {
    calls += 1;
    const err = errors[calls - 1];
    if (err) throw err;
    return value;
  };
  return { attempt, calls: () => calls };
}

describe('backoffMs', () => {
  it('grows from the base by powers of two, scaled by the jitter, and stops at the cap', () => {
    expect(backoffMs(1, 0.999, 100, 5000)).toBeCloseTo(99.9);
    expect(backoffMs(3, 0.5, 100, 5000)).toBe(200);
    expect(backoffMs(10, 0.999, 100, 5000)).toBeCloseTo(4995);
    expect(backoffMs(60, 1, 100, 5000)).toBe(5000);
    expect(backoffMs(4, 0, 100, 5000)).toBe(0);
  });
});

describe('callWithRetry', () => {
  it('retries throttling, 5xx and network errors, then returns the answer', async () => {
    const clock = createFakeClock([0.5, 0.5, 0.5]);
    const log = createRecordingLogger();
    const { attempt, calls } = failing([throttled(), serverError(), reset()], 'ok');
    const result = await callWithRetry(attempt, { deadline: clock.now() + 30_000, clock, log, what: 'get SSM parameter /x' });
    expect(result).toBe('ok');
    expect(calls()).toBe(4);
    // Throttled: half the throttle window (20 s, at most a third of the 30 s left: 10 s); then full-jitter backoff (base 100 ms).
    expect(clock.sleeps).toEqual([5_000, 100, 200]);
    expect(log.lines.map((l) => l.msg)).toEqual([
      'Failed to get SSM parameter /x: throttled (ThrottlingException), retrying',
      'Failed to get SSM parameter /x: server error (InternalServerError, HTTP 500), retrying',
      'Failed to get SSM parameter /x: network error (ECONNRESET), retrying',
    ]);
  });

  it('keeps every sleep within full-jitter bounds and the cap', async () => {
    const randoms = Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? 0.999 : 0.3));
    const clock = createFakeClock(randoms);
    const errors = Array.from({ length: 12 }, serverError);
    const { attempt } = failing(errors, 'ok');
    await callWithRetry(attempt, { deadline: clock.now() + 600_000, clock, what: 'x', baseMs: 100, capMs: 5000 });
    clock.sleeps.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(Math.min(5000, 100 * 2 ** i));
    });
    expect(Math.max(...clock.sleeps)).toBeGreaterThan(4900);
  });

  it('after AWS throttling waits anywhere in the throttle window, not growing; IMDS throttling backs off as usual', async () => {
    const clock = createFakeClock([0, 0.999, 0.5, 0.5]);
    const imdsThrottled = Object.assign(new Error('Too Many Requests'), { statusCode: 429, imds: true });
    const { attempt } = failing([throttled(), throttled(), throttled(), imdsThrottled], 'ok');
    await callWithRetry(attempt, { deadline: clock.now() + 600_000, clock, what: 'x' });
    expect(clock.sleeps).toEqual([0, 0.999 * DEFAULT_THROTTLE_WINDOW_MS, 0.5 * DEFAULT_THROTTLE_WINDOW_MS, 0.5 * 100 * 2 ** 3]);
    const plain = createFakeClock([0.5, 0.5]);
    await callWithRetry(failing([throttled(), throttled()], 'ok').attempt, { deadline: plain.now() + 600_000, clock: plain, what: 'x', throttleWindowMs: 0 });
    expect(plain.sleeps).toEqual([50, 100]);
  });

  it('does not retry a final answer such as ParameterNotFound, and rethrows it unchanged', async () => {
    const clock = createFakeClock();
    const notFound = new ParameterNotFound({ message: '', ...meta(400) });
    const { attempt, calls } = failing([notFound], 'never');
    await expect(callWithRetry(attempt, { deadline: clock.now() + 30_000, clock, what: 'x' })).rejects.toBe(notFound);
    expect(calls()).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('gives up at the deadline with AWS_UNAVAILABLE naming the failure, the attempts and the time', async () => {
    const clock = createFakeClock(Array(100).fill(0.999));
    const start = clock.now();
    const { attempt, calls } = failing(Array.from({ length: 100 }, throttled), 'never');
    const err = await callWithRetry(attempt, { deadline: start + 30_000, clock, what: 'get SSM parameter /x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnlockError);
    expect((err as UnlockError).kind).toBe('AWS_UNAVAILABLE');
    expect((err as UnlockError).retryable).toBe(true);
    expect((err as UnlockError).message).toBe(
      `Failed to get SSM parameter /x: throttled (ThrottlingException) on ${calls()} attempts over 30.0 s, giving up at the deadline`,
    );
    expect(clock.now()).toBe(start + 30_000);
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBeCloseTo(30_000, 3);
  });

  it('never sleeps past the deadline, even when the backoff is longer than the time left', async () => {
    const clock = createFakeClock([0.999]);
    const start = clock.now();
    const { attempt, calls } = failing(Array.from({ length: 5 }, serverError), 'never');
    const err = await callWithRetry(attempt, { deadline: start + 1000, clock, what: 'x', baseMs: 5000, capMs: 5000 }).catch((e: unknown) => e);
    expect(clock.sleeps).toEqual([1000]);
    expect(clock.now()).toBe(start + 1000);
    expect(calls()).toBe(1);
    expect((err as UnlockError).message).toBe('Failed to x: server error (InternalServerError, HTTP 500) on 1 attempt over 1.0 s, giving up at the deadline');
  });

  it('reports TIMEOUT when the attempts never got an answer', async () => {
    const clock = createFakeClock(Array(50).fill(0.5));
    const timeout = () => Object.assign(new Error('timed out'), { name: 'TimeoutError' });
    const { attempt } = failing(Array.from({ length: 200 }, timeout), 'never');
    const err = (await callWithRetry(attempt, { deadline: clock.now() + 10_000, clock, what: 'x' }).catch((e: unknown) => e)) as UnlockError;
    expect(err.kind).toBe('TIMEOUT');
    expect(err.message).toMatch(/^Failed to x: timed out \(TimeoutError\) on \d+ attempts over 10\.0 s, giving up at the deadline$/);
  });

  it('makes no attempt when the deadline has already passed', async () => {
    const clock = createFakeClock();
    const { attempt, calls } = failing([], 'never');
    const err = (await callWithRetry(attempt, { deadline: clock.now() - 1, clock, what: 'x' }).catch((e: unknown) => e)) as UnlockError;
    expect(calls()).toBe(0);
    expect(err.kind).toBe('TIMEOUT');
    expect(err.message).toBe('Failed to x: the deadline had passed before the first attempt');
  });

  it('aborts an attempt that hangs past the deadline, even one that ignores its signal', async () => {
    const clock = { now: () => Date.now(), sleep: async () => {}, random: () => 0 };
    let seen: AbortSignal | undefined;
    const hang = (signal: AbortSignal) => {
      seen = signal;
      return new Promise<never>(() => {});
    };
    const started = Date.now();
    const err = (await callWithRetry(hang, { deadline: started + 150, clock, what: 'get SSM parameter /x' }).catch((e: unknown) => e)) as UnlockError;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(seen?.aborted).toBe(true);
    expect(err.kind).toBe('TIMEOUT');
    expect(err.message).toMatch(/^Failed to get SSM parameter \/x: timed out \(after 0\.\d s\) on 1 attempt over 0\.\d s, giving up at the deadline$/);
  });

  it('retries an attempt cut off by attemptTimeoutMs before the deadline', async () => {
    const clock = { now: () => Date.now(), sleep: async () => {}, random: () => 0 };
    let calls = 0;
    const attempt = (): Promise<string> => {
      calls += 1;
      return calls < 3 ? new Promise<never>(() => {}) : Promise.resolve('ok');
    };
    const started = Date.now();
    await expect(callWithRetry(attempt, { deadline: started + 5000, clock, what: 'x', attemptTimeoutMs: 50 })).resolves.toBe('ok');
    expect(calls).toBe(3);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('names the earlier failure when the deadline cuts off the last attempt', async () => {
    const clock = { now: () => Date.now(), sleep: async () => {}, random: () => 0 };
    let calls = 0;
    const attempt = (): Promise<string> => {
      calls += 1;
      return calls === 1 ? Promise.reject(throttled()) : new Promise<never>(() => {});
    };
    const err = (await callWithRetry(attempt, { deadline: Date.now() + 150, clock, what: 'x' }).catch((e: unknown) => e)) as UnlockError;
    expect(calls).toBe(2);
    expect(err.kind).toBe('AWS_UNAVAILABLE');
    expect(err.message).toMatch(/^Failed to x: throttled \(ThrottlingException\) on 2 attempts over \d+\.\d s, giving up at the deadline$/);
  });
});

describe('callWithRetry hooks (start racing a typed key)', () => {
  it('tells onRetry each transient failure with its attempt number and class', async () => {
    const clock = createFakeClock([0.5, 0.5]);
    const notices: Array<{ attempt: number; reason: string }> = [];
    const { attempt } = failing([reset(), serverError()], 'ok');
    await callWithRetry(attempt, { deadline: clock.now() + 30_000, clock, what: 'get SSM parameter /x', onRetry: (n) => notices.push({ attempt: n.attempt, reason: n.reason }) });
    expect(notices.map((n) => n.attempt)).toEqual([1, 2]);
    expect(notices[0]!.reason).toMatch(/ECONNRESET|reset/i);
  });

  it('stops at once when the signal fires during the pause, with an AbortError, not at the deadline', async () => {
    const controller = new AbortController();
    let calls = 0;
    const started = Date.now();
    const pending = callWithRetry(async () => {
      calls += 1;
      throw reset();
    }, {
      deadline: Date.now() + 60_000, what: 'get SSM parameter /x', signal: controller.signal, baseMs: 10_000, capMs: 10_000,
      clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)), random: () => 0.99 },
      onRetry: () => controller.abort(),
    });
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls).toBe(1);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('aborts the attempt in flight when the signal fires', async () => {
    const controller = new AbortController();
    let sawAbort = false;
    const pending = callWithRetry((signal) => new Promise((_resolve, reject) => {
      signal.addEventListener('abort', () => {
        sawAbort = true;
        reject(signal.reason);
      });
    }), {
      deadline: Date.now() + 60_000, what: 'get SSM parameter /x', signal: controller.signal,
      clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)), random: () => 0.5 },
    });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(sawAbort).toBe(true);
  });
});
