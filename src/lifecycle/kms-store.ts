// Passphrases as KMS ciphertext in luks-ssm-kms LUKS2 tokens, encrypted under a context bound to this volume.
import type { AwsContext } from '../aws/clients.ts';
import { AWS_ATTEMPT_TIMEOUT_MS } from '../aws/client-config.ts';
import { mapAwsError } from '../aws/errors.ts';
import { callWithRetry } from '../aws/retry.ts';
import { BODY_PLACEHOLDER, spliceSecretIntoBody, type CommandWithStack } from '../aws/secret-splice.ts';
import { isUnlockError, UnlockError } from '../errors.ts';
import { luksUuid } from '../luks/cryptsetup.ts';
import { readLuksHeader } from '../luks/keyslots.ts';
import { assignToken, freeTokenId, importToken, kmsTokenJson, kmsTokensOf, removeToken, type KmsTokenData } from '../luks/token.ts';
import { decryptToken, encryptionContextOf, fetchInstanceId } from '../secret/kms-source.ts';
import { Secret } from '../secret/secret.ts';
import { awsContextFor, type SsmSourceDeps } from '../secret/ssm-source.ts';
import type { Runner, VolumeConfig } from '../types.ts';
import { encodeBase64Bytes, generatePassphrase } from './passphrase.ts';
import type { KeyStore, StoredKey } from './store.ts';

export interface KmsStoreDeps extends SsmSourceDeps {
  run: Runner;
  device: string;
}

export interface KmsStore extends KeyStore {
  /** Encrypts `value` for the volume with LUKS UUID `uuid` (enroll --format picks the UUID before formatting). */
  encrypt(value: Secret, uuid: string): Promise<KmsTokenData>;
  /** Writes a token (optionally assigned to `keySlot`) and returns its id. */
  writeToken(data: KmsTokenData, keySlot?: number): Promise<number>;
}

export function requireKmsKeyId(config: VolumeConfig): string {
  if (config.kmsKeyId !== undefined) return config.kmsKeyId;
  throw new UnlockError('CONFIG', `${config.sources.at(-1) ?? 'the config file'}: KEY_SOURCE=kms needs KMS_KEY_ID`, { hint: 'set KMS_KEY_ID=alias/… to the key that may encrypt this volume\'s passphrase' });
}

export function createKmsStore(config: VolumeConfig, deps: KmsStoreDeps): KmsStore {
  const { run, device } = deps;
  const deadline = (): number => deps.clock.now() + config.timeoutSec * 1000;
  let context: Promise<AwsContext> | undefined;
  const aws = (): Promise<AwsContext> => (context ??= awsContextFor(config, deps, config.region, deadline()));
  const contextFor = async (uuid: string): Promise<Record<string, string>> => {
    const instanceId = config.kmsContextInstanceId
      ? await fetchInstanceId({ imdsEndpoint: config.endpoints.imds, env: deps.env, deadline: deadline(), clock: deps.clock, log: deps.log })
      : undefined;
    return encryptionContextOf(uuid, instanceId);
  };
  const store: KmsStore = {
    description: `the luks-ssm-kms tokens of ${device}`,
    keepsStaleKeys: false,
    async list() {
      const tokens = kmsTokensOf(await readLuksHeader(run, device));
      if (tokens.length === 0) return [];
      const ctx = await contextFor(await luksUuid(run, device));
      const keys: StoredKey[] = [];
      for (const token of tokens) {
        try {
          const secret = await decryptToken(await aws(), token, ctx, device, { deadline: deadline(), clock: deps.clock, log: deps.log });
          keys.push({ label: `token ${token.tokenId}`, secret, tokenId: token.tokenId, keyslots: token.keyslots });
        } catch (error) {
          if (!isUnlockError(error) || !/does not belong/.test(error.message)) throw error;
          deps.log.warn({ device, token: token.tokenId }, `${error.message}, ignoring.`);
        }
      }
      return keys;
    },
    pendingRepairs: async () => [],
    repair: async () => {},
    generate: async () => generatePassphrase(await aws(), { deadline: deadline(), clock: deps.clock, log: deps.log }),
    async encrypt(value, uuid) {
      const keyId = requireKmsKeyId(config);
      const ctx = await contextFor(uuid);
      const a = await aws();
      const { EncryptCommand } = await import('../aws/kms-client.ts');
      const kms = await a.kms();
      const what = `encrypt the passphrase of ${device} with KMS key ${keyId}`;
      try {
        const out = await callWithRetry(
          (abortSignal) => {
            // A placeholder blob; the passphrase's base64 is spliced into the signed body as bytes (src/aws/secret-splice.ts).
            const command = new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(BODY_PLACEHOLDER, 'base64'), EncryptionContext: ctx });
            spliceSecretIntoBody(command as unknown as CommandWithStack, () => encodeBase64Bytes(value.bytes()));
            return kms.send(command, { abortSignal });
          },
          { deadline: deadline(), clock: deps.clock, what, attemptTimeoutMs: AWS_ATTEMPT_TIMEOUT_MS, log: deps.log },
        );
        if (out.CiphertextBlob === undefined) throw new UnlockError('AWS_UNAVAILABLE', `Failed to ${what}: empty answer`);
        const generation = Math.max(0, ...kmsTokensOf(await readLuksHeader(run, device).catch(() => ({ keyslots: [], tokens: [] }))).map((t) => t.generation)) + 1;
        return { keyId: out.KeyId ?? keyId, ciphertext: Buffer.from(out.CiphertextBlob).toString('base64'), context: ctx, generation, created: new Date(deps.clock.now()).toISOString() };
      } catch (error) {
        throw mapAwsError(error, { what, action: 'kms:Encrypt', region: a.region, keyId, inputHasSecret: true });
      }
    },
    async writeToken(data, keySlot) {
      const tokenId = freeTokenId(await readLuksHeader(run, device));
      await importToken(run, device, kmsTokenJson(data), { tokenId, ...(keySlot === undefined ? {} : { keySlot }) });
      return tokenId;
    },
    async store(value) {
      const data = await store.encrypt(value, await luksUuid(run, device));
      const tokenId = await store.writeToken(data);
      return { label: `token ${tokenId}`, secret: Secret.copyOf(value.bytes()), value, tokenId, keyslots: [] };
    },
    async bind(key, slot) {
      if (key.tokenId === undefined || key.keyslots?.includes(slot)) return;
      key.tokenId = await assignToken(run, device, await readLuksHeader(run, device), key.tokenId, slot);
      key.keyslots = [...new Set([...(key.keyslots ?? []), slot])];
    },
    async retire(key) {
      if (key.tokenId !== undefined) await removeToken(run, device, key.tokenId);
    },
  };
  return store;
}
