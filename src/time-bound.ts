// A promise raced against a timer: what the caller does when the time is up (a refusal, a partial answer, a hint
// left out) is its own business, so the timer only says TIMED_OUT.

export const TIMED_OUT = Symbol('timed out');

/**
 * `work`'s value, or TIMED_OUT after `ms` (at least 1). The timer does not keep the process alive; `work` is left
 * running (a caller that gives up on a read says so: src/exec/children.ts giveUpOnRead).
 */
export async function within<T>(ms: number, work: Promise<T>): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(1, ms)).unref();
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
