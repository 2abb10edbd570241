// Maps an AWS SDK error to one UnlockError line naming the action and the resource, with the fix as a hint.
import { UnlockError, isUnlockError, printable } from '../errors.ts';
import { classifyTransient, describeTransient, errorNameOf, isMalformedResponse, malformedResponseError } from './transient.ts';

export interface AwsCallContext {
  /** "get SSM parameter /x:3": messages read "Failed to <what>: …". */
  what: string;
  /** The IAM action the call needs, e.g. ssm:GetParameter. */
  action: string;
  region: string;
  /** SSM parameter name or ARN (without selector), when the call is about one. */
  parameter?: string;
  selector?: { version: number } | { label: string };
  /** KMS key id or ARN, when known. */
  keyId?: string;
  /** The request carried a secret (PutParameter, Encrypt): never echo AWS's own message. */
  inputHasSecret?: boolean;
}

const CREDENTIALS_REJECTED = new Set([
  'UnrecognizedClientException', 'InvalidSignatureException', 'SignatureDoesNotMatch', 'IncompleteSignature',
  'ExpiredToken', 'ExpiredTokenException', 'InvalidClientTokenId', 'InvalidAccessKeyId', 'MissingAuthenticationToken',
]);
const KEY_UNUSABLE = new Set(['DisabledException', 'KMSInvalidStateException', 'NotFoundException', 'InvalidKeyId']);
const MESSAGE_MAX = 200;

function messageOf(err: unknown): string {
  const message = (err as { message?: unknown })?.message;
  return typeof message === 'string' ? message : '';
}

/** The ARN AWS names in "…not authorized to perform: kms:Decrypt on resource: arn:… because …". */
function arnIn(message: string, service?: string): string | undefined {
  const pattern = service ? new RegExp(`arn:aws[a-z-]*:${service}:[^\\s;,)'"]+`) : /on resource: (arn:[^\s;,)'"]+)/;
  const match = pattern.exec(message);
  return match ? (match[1] ?? match[0]) : undefined;
}

function parameterArn(ctx: AwsCallContext): string {
  const name = ctx.parameter ?? '*';
  if (name.startsWith('arn:')) return name;
  return `arn:aws:ssm:${ctx.region}:<account-id>:parameter${name.startsWith('/') ? '' : '/'}${name}`;
}

function notFound(ctx: AwsCallContext, name: string): UnlockError {
  const parameter = `SSM parameter ${ctx.parameter ?? '?'}`;
  const sel = ctx.selector;
  if (sel !== undefined && 'version' in sel) {
    return new UnlockError('AWS_NOT_FOUND', `${parameter} version ${sel.version} not found in ${ctx.region}`, {
      hint: `check SSM_PARAMETER_VERSION; list versions: aws ssm get-parameter-history --name ${ctx.parameter} --query 'Parameters[].Version'`,
    });
  }
  if (sel !== undefined) {
    return new UnlockError('AWS_NOT_FOUND', `${parameter} has no version labelled ${sel.label} in ${ctx.region}`, {
      hint: `check SSM_PARAMETER_LABEL, or label a version: aws ssm label-parameter-version --name ${ctx.parameter} --labels ${sel.label}`,
    });
  }
  const what = name === 'ParameterVersionNotFound' ? 'version' : '';
  return new UnlockError('AWS_NOT_FOUND', `${parameter} ${what ? `${what} ` : ''}not found in ${ctx.region}`, {
    // Never `put-parameter --value …`: a passphrase typed there lands in argv and the shell's history (review 16).
    hint: `check SSM_PATH and SSM_REGION (names are case-sensitive); a new volume gets its parameter from luks-ssm enroll <volume> --format or --add-to-existing`,
  });
}

/** SSM passes KMS failures on as "<KMS message> (Service: AWSKMS; …; Error Code: DisabledException; …)". */
function kmsCodeIn(message: string): string | undefined {
  return message.includes('Service: AWSKMS') ? /Error Code: ([A-Za-z]+)/.exec(message)?.[1] : undefined;
}

function denied(err: unknown, ctx: AwsCallContext): UnlockError {
  const message = messageOf(err);
  if (/ciphertext refers to a (customer master|KMS) key that does not exist/i.test(message)) {
    // SSM's answer when the key is gone or kms:Decrypt is not allowed: it cannot tell which, nor name the key.
    return new UnlockError('AWS_DENIED', `Failed to ${ctx.what}: kms:Decrypt was denied, or the parameter's KMS key no longer exists`, {
      cause: err,
      hint: `find the key (aws ssm describe-parameters --parameter-filters Key=Name,Values=${ctx.parameter ?? '…'} --query 'Parameters[].KeyId'), ` +
        'check it exists (aws kms describe-key), and allow kms:Decrypt on it in the instance role\'s policy and the key policy',
    });
  }
  const action = /perform: ([a-z0-9-]+:[A-Za-z]+)/.exec(message)?.[1]
    ?? (message.includes('Service: AWSKMS') ? 'kms:Decrypt' : ctx.action);
  // GenerateRandom acts on no key: IAM grants it on "*" and no key policy governs it (review 8).
  const keyless = action === 'kms:GenerateRandom';
  const isKms = action.startsWith('kms:') && !keyless;
  const resource = keyless ? '*' : arnIn(message) ?? (isKms ? (arnIn(message, 'kms') ?? ctx.keyId ?? '<key-arn>') : parameterArn(ctx));
  const statement = `{"Effect":"Allow","Action":"${action}","Resource":"${resource}"}`;
  return new UnlockError('AWS_DENIED', `Failed to ${ctx.what}: access denied to ${action}${keyless ? '' : ` on ${resource}`}`, {
    cause: err,
    hint: isKms
      ? `allow it in the instance role's policy, ${statement}, and in the KMS key policy`
      : `allow it in the instance role's policy: ${statement}`,
  });
}

function keyUnusable(err: unknown, ctx: AwsCallContext, name: string): UnlockError {
  const message = messageOf(err);
  const key = arnIn(message, 'kms') ?? ctx.keyId ?? '<key-id>';
  const fail = (state: string, hint: string): UnlockError =>
    new UnlockError('KMS_KEY_UNUSABLE', `Failed to ${ctx.what}: KMS key ${key} ${state}`, { cause: err, hint });
  if (name === 'DisabledException') return fail('is disabled', `enable it: aws kms enable-key --key-id ${key}`);
  if (/pending ?deletion/i.test(message)) {
    return fail('is pending deletion', `cancel the deletion, then enable it: aws kms cancel-key-deletion --key-id ${key} && aws kms enable-key --key-id ${key}`);
  }
  if (/pending ?import/i.test(message)) return fail('has no key material (PendingImport)', `import its key material: aws kms import-key-material --key-id ${key} …`);
  if (name === 'NotFoundException') return fail(`not found in ${ctx.region}`, 'the key was deleted or is in another account/region: re-create the parameter with a key that exists');
  if (name === 'InvalidKeyId') return fail('is not valid for this parameter (InvalidKeyId)', `check it: aws kms describe-key --key-id ${key}`);
  return fail(`is unusable (${name})`, `check its state: aws kms describe-key --key-id ${key}`);
}

function credentialsRejected(err: unknown, ctx: AwsCallContext, name: string): UnlockError {
  // AWS's own words when the request was signed for another region than the endpoint's (a VPC endpoint, an
  // SSM_ENDPOINT of another region): not the clock or the secret key (review 8).
  const otherRegion = /scoped to a valid region|scoped to correct region/i.test(messageOf(err));
  const hint = otherRegion
    ? `the endpoint is not in ${ctx.region}: set SSM_REGION to the endpoint's region, or use an endpoint in ${ctx.region}`
    : /Signature/.test(name)
    ? 'check the system clock (requests are valid for 5 minutes) and AWS_SECRET_ACCESS_KEY'
    : /Expired/.test(name)
      ? 'the session token has expired: refresh AWS_SESSION_TOKEN, or unset the environment credentials to use the instance profile'
      : 'check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or the instance profile';
  return new UnlockError('AWS_DENIED', `Failed to ${ctx.what}: credentials rejected (${name}${otherRegion ? ': signed for another region than the endpoint\'s' : ''})`, { cause: err, hint });
}

/** One UnlockError per SDK failure. Messages name actions and resources, never request or parameter values. */
export function mapAwsError(err: unknown, ctx: AwsCallContext): UnlockError {
  if (isUnlockError(err)) return err;
  if (isMalformedResponse(err)) {
    // Not AWS's answer (a proxy or a broken endpoint): worth another try later; nothing of the body is kept.
    const malformed = malformedResponseError(err);
    return new UnlockError('AWS_UNAVAILABLE', `Failed to ${ctx.what}: ${malformed.message}`, { cause: malformed, retryable: true });
  }
  const name = errorNameOf(err);
  const viaKms = (err as { name?: unknown })?.name !== name || ctx.action.startsWith('kms:');
  const kmsName = name === 'InvalidKeyId' ? kmsCodeIn(messageOf(err)) : undefined;
  if (kmsName !== undefined && KEY_UNUSABLE.has(kmsName)) return keyUnusable(err, ctx, kmsName);
  if (name === 'ParameterNotFound' || name === 'ParameterVersionNotFound') return notFound(ctx, name);
  if (name === 'AccessDeniedException' || name === 'AccessDenied') return denied(err, ctx);
  // NotFoundException is KMS's name for a missing key; other services use it for other things.
  if (KEY_UNUSABLE.has(name) && (name !== 'NotFoundException' || viaKms)) return keyUnusable(err, ctx, name);
  if (CREDENTIALS_REJECTED.has(name)) return credentialsRejected(err, ctx, name);
  const transient = classifyTransient(err);
  if (transient !== undefined) {
    return new UnlockError('AWS_UNAVAILABLE', `Failed to ${ctx.what}: ${describeTransient(transient)}`, { cause: err, retryable: true });
  }
  const awsMessage = ctx.inputHasSecret ? '' : printable(messageOf(err).slice(0, MESSAGE_MAX));
  const detail = printable(awsMessage ? `${name || 'Error'}: ${awsMessage}` : name || 'Error');
  // Config values are checked before any call, so a ValidationException says more about the endpoint (a proxy,
  // a broken emulator) than about the config: temporary, not CONFIG (78), which no retry would ever fix.
  if (name === 'ValidationException') {
    return new UnlockError('AWS_UNAVAILABLE', `Failed to ${ctx.what}: AWS rejected the request (${detail})`, { cause: err, retryable: true });
  }
  const isAws = typeof (err as { $metadata?: unknown })?.$metadata === 'object';
  return new UnlockError(isAws ? 'AWS_UNAVAILABLE' : 'INTERNAL', `Failed to ${ctx.what}: ${detail}`, { cause: err });
}
