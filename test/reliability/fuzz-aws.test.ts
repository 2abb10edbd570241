// Fuzz: SSM, KMS and IMDS answers mutated on the wire, read by the real SDK through the project's code.
import { EncryptCommand } from '@aws-sdk/client-kms';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAwsContext } from '../../src/aws/clients.ts';
import { UnlockError } from '../../src/errors.ts';
import { decryptToken, encryptionContextOf } from '../../src/secret/kms-source.ts';
import { fetchSsmSecret } from '../../src/secret/ssm.ts';
import { createFakeClock, createRecordingLogger } from '../aws/fakes.ts';
import { realClock } from '../aws/real-clock.ts';
import type { MutationOp } from '../emulator/mutate.ts';
import { kmsClient } from '../emulator/sdk-clients.ts';
import { useEmulator } from '../emulator/use-emulator.ts';
import { awsFuzzRuns, checkProperty, FUZZ_TARGET_TIMEOUT_MS } from './fuzz-settings.ts';

/** Simulated seconds each case may retry for (the clock only moves when the retry loop sleeps). */
const DEADLINE_MS = 1_000;
/** Real time one case may take: a hang anywhere in the SDK or our reader fails the property. */
const CASE_MS = 15_000;
const NAME = '/luks/fuzz';
const UUID = '0b5c5a3e-6d0c-4f57-9a53-2f6d6f2b9c11';

const op: fc.Arbitrary<MutationOp> = fc.record({
  kind: fc.constantFrom('flip', 'insert', 'delete', 'cut'),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  byte: fc.constantFrom(0x22, 0x5c, 0x7b, 0x7d, 0x00, 0x0a, 0x3a, 0x2c, 0x20, 0xff, 0x41),
  count: fc.integer({ min: 1, max: 12 }),
});
/** Most cases garble one or two answers (the retry then gets a whole one); some garble every answer. */
const mutation = fc.record({ ops: fc.array(op, { minLength: 1, maxLength: 3 }), keepLength: fc.boolean(), count: fc.constantFrom(1, 1, 1, 2, 1000) });
/** Passphrases are long random words, so any 8 of their characters in an output line means a leak. */
const passphrase = fc.stringMatching(/^[A-Za-z0-9]{16,40}$/);

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
async function fuzzCase(secret: string, attempt: (ctx: CaseContext) => Promise<{ length: number; wipe(): void }>): Promise<void> {
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

const world = useEmulator();

describe('fuzz: AWS answers mutated on the wire', () => {
  it('SSM GetParameter: the exact value, or one UnlockError line that never quotes it', async () => {
    // One client for every case, as one start has: region and credentials come from the environment here.
    const aws = await createAwsContext({ endpoints: {}, env: world.emulator.env(), deadline: Date.now() + 60_000, clock: realClock });
    await checkProperty('SSM GetParameter answers', fc.asyncProperty(passphrase, mutation, async (secret, mutate) => {
      world.emulator.reset();
      world.emulator.putParameter(NAME, secret);
      world.emulator.faults.set({ mutateBody: { ...mutate, match: 'ssm' } });
      await fuzzCase(secret, async ({ clock, log, deadline }) => (await fetchSsmSecret({ aws, name: NAME, selector: undefined, deadline, clock, log })).secret);
    }), { numRuns: awsFuzzRuns() });
  }, FUZZ_TARGET_TIMEOUT_MS);

  it('KMS Decrypt: the exact plaintext, or one UnlockError line that never quotes it', async () => {
    const context = encryptionContextOf(UUID);
    const keyArn = world.emulator.createKey({ alias: 'alias/fuzz' }).arn;
    const kms = kmsClient(world.emulator);
    const aws = await createAwsContext({ endpoints: {}, env: world.emulator.env(), deadline: Date.now() + 60_000, clock: realClock });
    await checkProperty('KMS Decrypt answers', fc.asyncProperty(passphrase, mutation, async (secret, mutate) => {
      world.emulator.faults.reset();
      const out = await kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from(secret), EncryptionContext: context }));
      const token = { tokenId: 0, keyId: keyArn, ciphertext: Buffer.from(out.CiphertextBlob!).toString('base64'), generation: 1 };
      world.emulator.faults.set({ mutateBody: { ...mutate, match: 'kms:Decrypt' } });
      await fuzzCase(secret, ({ clock, log, deadline }) => decryptToken(aws, token, context, '/dev/fuzz', { deadline, clock, log }));
    }), { numRuns: awsFuzzRuns() });
  }, FUZZ_TARGET_TIMEOUT_MS);

  it('IMDS token, region and role credentials: a client, or one UnlockError line that never quotes the credentials', async () => {
    await checkProperty('IMDS answers', fc.asyncProperty(passphrase, mutation, async (secret, mutate) => {
      world.emulator.reset();
      world.emulator.putParameter(NAME, secret);
      world.emulator.faults.set({ mutateBody: { ...mutate, match: 'imds' } });
      await fuzzCase(secret, async ({ clock, log, deadline }) => {
        // Bounded by the case's own deadline and hang timer: the client is built inside the attempt.
        const aws = await createAwsContext({ endpoints: {}, env: world.emulator.env({ withRegion: false, withCredentials: false }), deadline, clock, log });
        return (await fetchSsmSecret({ aws, name: NAME, selector: undefined, deadline, clock, log })).secret;
      });
    }), { numRuns: awsFuzzRuns() });
  }, FUZZ_TARGET_TIMEOUT_MS);
});
