// Fuzz: KMS Decrypt answers mutated on the wire, read by the real SDK through the project's code.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { EncryptCommand } from '@aws-sdk/client-kms';
import { createAwsContext } from '../../src/aws/clients.ts';
import { decryptToken, encryptionContextOf } from '../../src/secret/kms-source.ts';
import { realClock } from '../aws/real-clock.ts';
import { kmsClient } from '../emulator/sdk-clients.ts';
import { useEmulator } from '../emulator/use-emulator.ts';
import { fuzzCase, mutation, NAME, passphrase } from './fuzz-aws-case.ts';
import { awsFuzzRuns, checkProperty, FUZZ_TARGET_TIMEOUT_MS } from './fuzz-settings.ts';

const world = useEmulator();
const UUID = '0b5c5a3e-6d0c-4f57-9a53-2f6d6f2b9c11';

describe('fuzz: AWS answers mutated on the wire', () => {
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
});
