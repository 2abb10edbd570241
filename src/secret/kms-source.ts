// The KMS key source (KEY_SOURCE=kms): luks-ssm-kms tokens from the device header, decrypted by KMS under a context
// rebuilt from the device itself (its LUKS UUID, optionally this instance's id), so a copied ciphertext decrypts nowhere else.
import type { AwsContext } from '../aws/clients.ts';
import { AWS_ATTEMPT_TIMEOUT_MS } from '../aws/client-config.ts';
import { remainingMs } from '../aws/deadline.ts';
import { mapAwsError } from '../aws/errors.ts';
import { createImdsClient, imdsEndpointOf, IMDS_REQUEST_TIMEOUT_MS } from '../aws/imds.ts';
import { callWithRetry, type RetryHooks } from '../aws/retry.ts';
import { warmContext, type HeadStart } from '../aws/head-start.ts';
import { sendCapturing, type SecretCapture } from '../aws/secret-capture.ts';
import { errorNameOf } from '../aws/transient.ts';
import { isUnlockError, UnlockError } from '../errors.ts';
import type { Clock, Logger, VolumeConfig } from '../types.ts';
import { decodeBase64Bytes } from './encoding.ts';
import { Secret } from './secret.ts';
import type { FetchedKey, KeySource } from './source.ts';

/** Encryption context keys; values are never secret (they show up in CloudTrail, which is the point). */
export const CONTEXT_LUKS_UUID = 'luks-ssm:luks-uuid';
export const CONTEXT_INSTANCE_ID = 'luks-ssm:instance-id';

/** What the source needs of a luks-ssm-kms token (src/luks/token.ts's KmsToken has these). */
export interface KmsTokenView {
  tokenId: number;
  keyId: string;
  ciphertext: string;
  generation: number;
}

export interface KmsHeaderView {
  device: string;
  uuid: string;
  /** Newest first. */
  tokens: KmsTokenView[];
}

export interface KmsSourceDeps {
  clock: Clock;
  log: Logger;
  /** hooks: start's race reaches the region lookup too (see RetryHooks). */
  aws(deadline: number, hooks?: RetryHooks): Promise<AwsContext>;
  readHeader(deadline: number): Promise<KmsHeaderView>;
  /** Set when KMS_CONTEXT_INSTANCE_ID=yes. */
  instanceId?: (deadline: number, hooks?: RetryHooks) => Promise<string>;
}

export function encryptionContextOf(uuid: string, instanceId?: string): Record<string, string> {
  return { [CONTEXT_LUKS_UUID]: uuid, ...(instanceId === undefined ? {} : { [CONTEXT_INSTANCE_ID]: instanceId }) };
}

const ALIAS = /^(arn:[^:]+:kms:[^:]*:[^:]*:)?alias\//;

/**
 * Whether the token's key (a key ARN, as Encrypt returns it) is KMS_KEY_ID: a key ARN must match exactly, a
 * key id the ARN's last part. undefined for an alias: only KMS can resolve it, so it is sent as Decrypt's KeyId.
 */
export function tokenKeyIsPinned(pinned: string, tokenKeyId: string): boolean | undefined {
  if (ALIAS.test(pinned)) return undefined;
  if (pinned.startsWith('arn:')) return pinned === tokenKeyId;
  return pinned === tokenKeyId || tokenKeyId.endsWith(`:key/${pinned}`);
}

function pinRefusal(token: KmsTokenView, device: string, pinned: string, cause?: unknown): UnlockError {
  return new UnlockError('CONFIG', `${device}: LUKS2 token ${token.tokenId} is encrypted under KMS key ${token.keyId}, but KMS_KEY_ID=${pinned}, refusing.`, {
    ...(cause === undefined ? {} : { cause }),
    hint: 'if KMS_KEY_ID was changed on purpose, run luks-ssm rotate: it re-encrypts the passphrase under the new key; if not, the header was changed: find out who changed it',
  });
}

/**
 * Decrypt with KeyId pinned to the token's key, or to KMS_KEY_ID when it is an alias (`pinnedAlias`: KMS then
 * refuses another key's ciphertext); the plaintext goes into a Secret and the SDK's buffer is zeroed.
 */
export async function decryptToken(aws: AwsContext, token: KmsTokenView, context: Record<string, string>, device: string, opts: { deadline: number; clock: Clock; log?: Logger; pinnedAlias?: string; hooks?: RetryHooks }): Promise<Secret> {
  const { DecryptCommand } = await import('../aws/kms-client.ts');
  const what = `decrypt LUKS2 token ${token.tokenId} of ${device} with KMS`;
  const kms = await aws.kms();
  const keyId = opts.pinnedAlias ?? token.keyId;
  // The plaintext never reaches the SDK: the request handler lifts its base64 text out of the raw answer
  // (src/aws/secret-capture.ts); it is decoded here bytes to bytes and zeroed (issue #10).
  let capture: SecretCapture | undefined;
  try {
    const answer = await callWithRetry(
      (abortSignal) => sendCapturing(abortSignal, 'Plaintext', (signal) => kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from(token.ciphertext, 'base64'), EncryptionContext: context, KeyId: keyId }), { abortSignal: signal })),
      { deadline: opts.deadline, clock: opts.clock, what, attemptTimeoutMs: AWS_ATTEMPT_TIMEOUT_MS, ...(opts.log ? { log: opts.log } : {}), ...opts.hooks },
    );
    capture = answer.capture;
    answer.out.Plaintext?.fill(0);
    const [text] = capture.takeAll();
    const plaintext = text === undefined ? undefined : decodeBase64Bytes(text);
    text?.fill(0);
    if (plaintext === undefined || plaintext.length === 0) throw new UnlockError('AWS_UNAVAILABLE', `Failed to ${what}: empty answer`);
    return Secret.adopt(plaintext);
  } catch (error) {
    const name = errorNameOf(error);
    if (opts.pinnedAlias !== undefined && name === 'IncorrectKeyException') throw pinRefusal(token, device, opts.pinnedAlias, error);
    if (name === 'InvalidCiphertextException' || name === 'IncorrectKeyException') {
      throw new UnlockError('AWS_DENIED', `Failed to ${what}: the ciphertext does not belong to this volume (${Object.keys(context).join(', ')} differ)`, {
        cause: error,
        hint: 'the header was copied from another volume or instance, or KMS_CONTEXT_INSTANCE_ID changed since enroll: re-enroll with luks-ssm enroll --add-to-existing',
      });
    }
    throw mapAwsError(error, { what, action: 'kms:Decrypt', region: aws.region, keyId: token.keyId });
  } finally {
    capture?.wipe();
  }
}

export function createKmsKeySource(config: VolumeConfig, deps: KmsSourceDeps): KeySource {
  let early: HeadStart<AwsContext> | undefined;
  return {
    description: `the luks-ssm-kms tokens of ${config.device}`,
    // The context, the KMS client and the credentials, begun while start's checks run; keys() joins it.
    warmUp(deadline) {
      early?.stop();
      early = warmContext((hooks) => deps.aws(deadline, hooks), 'kms');
      return early;
    },
    async *keys(deadline, hooks) {
      // Taken once: a later keys() starts afresh.
      const head = early;
      early = undefined;
      const header = await deps.readHeader(deadline);
      if (header.tokens.length === 0) {
        throw new UnlockError('CONFIG', `${header.device} has no luks-ssm-kms token, but KEY_SOURCE=kms`, {
          hint: `enroll it: luks-ssm enroll ${config.volume} --add-to-existing`,
        });
      }
      const instanceId = deps.instanceId ? await deps.instanceId(deadline, hooks) : undefined;
      const context = encryptionContextOf(header.uuid, instanceId);
      const aws = head === undefined ? await deps.aws(deadline, hooks) : await head.join(hooks);
      // A token that does not decrypt here may be a stale one from an interrupted rotation: try the others first.
      // With KMS_KEY_ID set, only tokens under that key are tried (issue #10, item 13).
      const pinned = config.kmsKeyId;
      let refused: UnlockError | undefined;
      for (const token of header.tokens) {
        const match = pinned === undefined ? true : tokenKeyIsPinned(pinned, token.keyId);
        if (match === false) {
          const refusal = pinRefusal(token, header.device, pinned as string);
          deps.log.warn({ device: header.device, token: token.tokenId }, `${refusal.message.replace(/, refusing\.$/, '')}, ignoring.`);
          refused ??= refusal;
          continue;
        }
        let secret: Secret;
        try {
          secret = await decryptToken(aws, token, context, header.device, { deadline, clock: deps.clock, log: deps.log, ...(match === undefined ? { pinnedAlias: pinned as string } : {}), ...(hooks ? { hooks } : {}) });
        } catch (error) {
          const pinRefused = isUnlockError(error) && error.kind === 'CONFIG' && error.message.includes(', but KMS_KEY_ID=');
          const foreign = isUnlockError(error) && error.kind === 'AWS_DENIED' && /does not belong/.test(error.message);
          if (!pinRefused && !foreign) throw error;
          deps.log.warn({ device: header.device, token: token.tokenId }, `${error.message.replace(/, refusing\.$/, '')}, ignoring.`);
          refused ??= error;
          continue;
        }
        const key: FetchedKey = { secret, source: `kms-token:${token.tokenId}`, version: token.generation, region: aws.region };
        yield key;
      }
      if (refused !== undefined) throw refused;
    },
  };
}

/** This instance's id from IMDSv2, retried within the deadline (for KMS_CONTEXT_INSTANCE_ID=yes). */
export async function fetchInstanceId(opts: { imdsEndpoint: string | undefined; env: Record<string, string | undefined>; deadline: number; clock: Clock; log?: Logger; hooks?: RetryHooks | undefined }): Promise<string> {
  const imds = createImdsClient(imdsEndpointOf(opts.imdsEndpoint, opts.env));
  const what = 'get the instance id from instance metadata';
  const id = await callWithRetry(
    (signal) => imds.get('/latest/meta-data/instance-id', { timeoutMs: Math.max(1, Math.min(IMDS_REQUEST_TIMEOUT_MS, remainingMs(opts.deadline, opts.clock))), signal }),
    { deadline: opts.deadline, clock: opts.clock, what, attemptTimeoutMs: IMDS_REQUEST_TIMEOUT_MS, ...(opts.log ? { log: opts.log } : {}), ...opts.hooks },
  ).catch((error: unknown) => {
    if (isUnlockError(error)) throw error;
    throw new UnlockError('AWS_UNAVAILABLE', `Failed to ${what}: ${(error as Error).message}`, { cause: error });
  });
  const trimmed = id.trim();
  if (!/^i-[0-9a-f]{8,17}$/.test(trimmed)) throw new UnlockError('AWS_UNAVAILABLE', `Failed to ${what}: the answer is not an instance id`);
  return trimmed;
}
