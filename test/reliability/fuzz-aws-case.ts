// What the three AWS fuzz targets share (one file each, so vitest runs them on separate cores): the mutations of
// an answer on the wire, and one case's check: the secret, or one UnlockError line that never quotes it.
import fc from 'fast-check';
import { expect } from 'vitest';
import { UnlockError } from '../../src/errors.ts';
import { createFakeClock, createRecordingLogger } from '../aws/fakes.ts';
import type { MutationOp } from '../emulator/mutate.ts';

/** Simulated seconds each case may retry for (the clock only moves when the retry loop sleeps). */
const DEADLINE_MS = 1_000;
/** Real time one case may take: a hang anywhere in the SDK or our reader fails the property. */
const CASE_MS = 15_000;
export const NAME = '/luks/fuzz';

const op: fc.Arbitrary<MutationOp> = fc.record({
  kind: fc.constantFrom('flip', 'insert', 'delete', 'cut'),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  byte: fc.constantFrom(0x22, 0x5c, 0x7b, 0x7d, 0x00, 0x0a, 0x3a, 0x2c, 0x20, 0xff, 0x41),
  count: fc.integer({ min: 1, max: 12 }),
});
/** Most cases garble one or two answers (the retry then gets a whole one); some garble every answer. */
export const mutation = fc.record({ ops: fc.array(op, { minLength: 1, maxLength: 3 }), keepLength: fc.boolean(), count: fc.constantFrom(1, 1, 1, 2, 1000) });
/** Passphrases are long random words, so any 8 of their characters in an output line means a leak. */
export const passphrase = fc.stringMatching(/^[A-Za-z0-9]{16,40}$/);

function leaks(text: string, secret: string): boolean {
  for (let i = 0; i + 8 <= secret.length; i += 1) if (text.includes(secret.slice(i, i + 8))) return true;
  return false;
}

/** What a user could see of a failure: the line, the hint, every log line the retries wrote. */
function checkFailure(err: unknown, secret: string, logged: unknown[]): void {
  expect(err).toBeInstanceOf(UnlockError);
  const e = err as UnlockError;
  expect(e.kind).not.toBe('INTERNAL');
  expect(e.message, JSON.stringify(e.message)).not.toMatch(/[\u0000-\u001f\u007f]/);
  const seen = `${e.message}\n${e.hint ?? ''}\n${JSON.stringify(logged)}`;
  expect(leaks(seen, secret), seen).toBe(false);
}

async function withinCase<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CASE_MS} ms (a hang)`)), CASE_MS);
  });
  try {
    return await Promise.race([work, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** What one case's attempt gets: a simulated clock and deadline, and a logger that keeps every line. */
interface CaseContext {
  clock: ReturnType<typeof createFakeClock>;
  log: ReturnType<typeof createRecordingLogger>;
  deadline: number;
}

/**
 * One case: the attempt either yields a secret (a garbled byte inside the value can still be valid JSON: the value
 * then differs and cryptsetup will refuse it) or fails with one UnlockError line that never quotes `secret`.
 */
export async function fuzzCase(secret: string, attempt: (ctx: CaseContext) => Promise<{ length: number; wipe(): void }>): Promise<void> {
  const clock = createFakeClock();
  const log = createRecordingLogger();
  try {
    const got = await withinCase(attempt({ clock, log, deadline: clock.now() + DEADLINE_MS }));
    expect(got.length).toBeGreaterThan(0);
    got.wipe();
  } catch (err) {
    checkFailure(err, secret, log.lines);
  }
}

