// Fuzz: SSM GetParameter answers mutated on the wire, read by the real SDK through the project's code.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { createAwsContext } from '../../src/aws/clients.ts';
import { fetchSsmSecret } from '../../src/secret/ssm.ts';
import { realClock } from '../aws/real-clock.ts';
import { useEmulator } from '../emulator/use-emulator.ts';
import { fuzzCase, mutation, NAME, passphrase } from './fuzz-aws-case.ts';
import { awsFuzzRuns, checkProperty, FUZZ_TARGET_TIMEOUT_MS } from './fuzz-settings.ts';

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
});
