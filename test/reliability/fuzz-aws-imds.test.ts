// Fuzz: IMDS token, region and role-credential answers mutated on the wire, read by the real SDK through the project's code.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { createAwsContext } from '../../src/aws/clients.ts';
import { fetchSsmSecret } from '../../src/secret/ssm.ts';
import { useEmulator } from '../emulator/use-emulator.ts';
import { fuzzCase, mutation, NAME, passphrase } from './fuzz-aws-case.ts';
import { awsFuzzRuns, checkProperty, FUZZ_TARGET_TIMEOUT_MS } from './fuzz-settings.ts';

const world = useEmulator();

describe('fuzz: AWS answers mutated on the wire', () => {
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
