// Child process for test/lifecycle/key-copies.integ.test.ts: runs the lifecycle's AWS calls that carry a key against
// the emulator, wipes every Secret, says "ready" and waits for stdin to close, so the parent can scan its memory.
// Keys arrive as bytes from a file (argv or env would make them strings here); nothing prints a key.
import { readFileSync } from 'node:fs';
import { createAwsContext } from '../../src/aws/clients.ts';
import { BODY_PLACEHOLDER, spliceSecretIntoBody, type CommandWithStack } from '../../src/aws/secret-splice.ts';
import { encodeBase64Bytes, generatePassphrase } from '../../src/lifecycle/passphrase.ts';
import { putPassphrase } from '../../src/lifecycle/ssm-store.ts';
import { decryptToken } from '../../src/secret/kms-source.ts';
import { fetchSsmSecret } from '../../src/secret/ssm.ts';
import { Secret } from '../../src/secret/secret.ts';
import type { Clock, Logger } from '../../src/types.ts';

const clock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)), random: () => Math.random() };
const quiet = { debug() {}, info() {}, warn() {}, error() {}, child() { return quiet; } } as unknown as Logger;

const [mode, keyFile, keyId, ciphertext] = process.argv.slice(2);
const env = JSON.parse(process.env.PROBE_AWS_ENV ?? '{}') as Record<string, string>;
const deadline = Date.now() + 20_000;
const url = mode === 'fetch-https' ? (keyFile as string) : env.AWS_ENDPOINT_URL_SSM;
const aws = await createAwsContext({ endpoints: { ssm: url, kms: url, imds: url }, env, deadline, clock });

if (mode === 'enroll') {
  // enroll and rotate: GenerateRandom, then PutParameter of the new passphrase.
  const value = await generatePassphrase(aws, { deadline, clock });
  await putPassphrase({ aws, name: '/luks/probe', value, keyId: 'alias/aws/ssm', overwrite: false, description: 'probe', tags: undefined, deadline, deps: { env, clock, log: quiet } });
  value.wipe();
} else if (mode === 'encrypt') {
  // The KMS store's Encrypt (src/lifecycle/kms-store.ts), with the key read from a file.
  const value = Secret.adopt(readFileSync(keyFile as string));
  const { EncryptCommand } = await import('../../src/aws/kms-client.ts');
  const kms = await aws.kms();
  const command = new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(BODY_PLACEHOLDER, 'base64'), EncryptionContext: { probe: 'yes' } });
  spliceSecretIntoBody(command as unknown as CommandWithStack, () => encodeBase64Bytes(value.bytes()));
  await kms.send(command);
  value.wipe();
} else if (mode === 'decrypt') {
  // start with KEY_SOURCE=kms: Decrypt of a token's ciphertext.
  const token = { tokenId: 0, keyId: keyId as string, ciphertext: ciphertext as string, generation: 1 };
  const secret = await decryptToken(aws, token, { probe: 'yes' }, 'probe-device', { deadline, clock });
  secret.wipe();
} else if (mode === 'fetch-https') {
  // start over SSM through TLS, as against every real AWS endpoint: OpenSSL's buffers see the plaintext too.
  const fetched = await fetchSsmSecret({ aws, name: '/luks/probe', selector: undefined, deadline, clock });
  fetched.secret.wipe();
} else {
  throw new Error(`unknown probe mode ${mode}`);
}
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
