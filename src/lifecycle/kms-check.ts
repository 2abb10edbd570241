// check's kms-key step: DescribeKey of the key protecting the passphrase, one line per unusable state with its fix.
import { DescribeParametersCommand, type AwsContext } from '../aws/clients.ts';
import { AWS_ATTEMPT_TIMEOUT_MS } from '../aws/client-config.ts';
import { mapAwsError } from '../aws/errors.ts';
import { callWithRetry } from '../aws/retry.ts';
import { isUnlockError, UnlockError } from '../errors.ts';
import { withSsmPath } from '../secret/ssm-source.ts';
import type { Clock, Logger, VolumeConfig } from '../types.ts';

/** The fields of KMS KeyMetadata the check reads. */
export interface KeyFacts {
  Arn?: string;
  KeyState?: string;
  Origin?: string;
  DeletionDate?: Date;
  ValidTo?: Date;
  ExpirationModel?: string;
}

interface CallOptions {
  deadline: number;
  clock: Clock;
  log?: Logger;
}

const day = (date: Date | undefined): string => (date === undefined ? 'a date KMS did not give' : date.toISOString().slice(0, 10));

/** One line for a usable key; UnlockError KMS_KEY_UNUSABLE naming the state and the command that fixes it otherwise. */
export function judgeKey(facts: KeyFacts, keyId: string, now: number): string {
  const key = facts.Arn ?? keyId;
  const unusable = (state: string, hint: string): UnlockError => new UnlockError('KMS_KEY_UNUSABLE', `KMS key ${key} ${state}`, { hint });
  switch (facts.KeyState) {
    case 'Enabled':
      if (facts.ExpirationModel === 'KEY_MATERIAL_EXPIRES' && facts.ValidTo !== undefined) {
        const days = Math.floor((facts.ValidTo.getTime() - now) / 86_400_000);
        return `KMS key ${key} is enabled; its imported key material expires on ${day(facts.ValidTo)} (in ${days} days): re-import it before then`;
      }
      return `KMS key ${key} is enabled`;
    case 'Disabled':
      throw unusable('is disabled', `enable it: aws kms enable-key --key-id ${key}`);
    case 'PendingDeletion':
    case 'PendingReplicaDeletion':
      throw unusable(`is pending deletion (scheduled for ${day(facts.DeletionDate)})`, `cancel it: aws kms cancel-key-deletion --key-id ${key} && aws kms enable-key --key-id ${key}`);
    case 'PendingImport':
      throw unusable(facts.Origin === 'EXTERNAL' ? 'has no key material: it was never imported, or the imported material expired' : 'has no key material (PendingImport)',
        `import it again: aws kms get-parameters-for-import --key-id ${key} …, then aws kms import-key-material --key-id ${key} …`);
    case 'Unavailable':
      throw unusable('is unavailable: its custom key store is disconnected', 'reconnect it: aws kms connect-custom-key-store --custom-key-store-id …');
    default:
      throw unusable(`is in state ${facts.KeyState ?? 'unknown'}`, `see aws kms describe-key --key-id ${key}`);
  }
}

export async function describeKey(aws: AwsContext, keyId: string, opts: CallOptions): Promise<KeyFacts> {
  const { DescribeKeyCommand } = await import('../aws/kms-client.ts');
  const kms = await aws.kms();
  const what = `describe KMS key ${keyId}`;
  try {
    const out = await callWithRetry((abortSignal) => kms.send(new DescribeKeyCommand({ KeyId: keyId }), { abortSignal }),
      { deadline: opts.deadline, clock: opts.clock, what, attemptTimeoutMs: AWS_ATTEMPT_TIMEOUT_MS, ...(opts.log ? { log: opts.log } : {}) });
    return out.KeyMetadata ?? {};
  } catch (error) {
    throw mapAwsError(error, { what, action: 'kms:DescribeKey', region: aws.region, keyId });
  }
}

/** The KeyId the parameter's latest version was written under (DescribeParameters); undefined for a shared (ARN) one. */
export async function parameterKeyId(aws: AwsContext, name: string, opts: CallOptions): Promise<string | undefined> {
  if (name.startsWith('arn:')) return undefined;
  const what = `describe SSM parameter ${name}`;
  try {
    const out = await callWithRetry((abortSignal) => aws.ssm().send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }] }), { abortSignal }),
      { deadline: opts.deadline, clock: opts.clock, what, attemptTimeoutMs: AWS_ATTEMPT_TIMEOUT_MS, ...(opts.log ? { log: opts.log } : {}) });
    return out.Parameters?.[0]?.KeyId;
  } catch (error) {
    throw mapAwsError(error, { what, action: 'ssm:DescribeParameters', region: aws.region, parameter: name });
  }
}

/**
 * The key behind the passphrase: the token's key (KMS), the parameter's own KeyId (SSM), else KMS_KEY_ID. A denied
 * Describe* is reported with the action to allow but does not fail the check: start itself needs neither.
 */
export async function checkKmsKey(aws: AwsContext, config: VolumeConfig, tokenKeyId: string | undefined, opts: CallOptions): Promise<string> {
  try {
    const keyId = tokenKeyId ?? ((config.keySource ?? 'ssm') === 'ssm' ? await parameterKeyId(aws, withSsmPath(config).ssmPath, opts) : undefined) ?? config.kmsKeyId;
    if (keyId === undefined) return 'no KMS key to describe (a shared parameter without KMS_KEY_ID)';
    return judgeKey(await describeKey(aws, keyId, opts), keyId, opts.clock.now());
  } catch (error) {
    if (isUnlockError(error) && error.kind === 'AWS_DENIED') {
      return `cannot tell the key's state: ${error.message}${error.hint ? ` (to let check see it: ${error.hint})` : ''}`;
    }
    throw error;
  }
}
