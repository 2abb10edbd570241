// The passphrase from an SSM SecureString: its exact bytes, at a chosen version or label, or the recent versions.
import { GetParameterCommand, GetParameterHistoryCommand, type AwsContext } from '../aws/clients.ts';
import { AWS_ATTEMPT_TIMEOUT_MS } from '../aws/client-config.ts';
import { mapAwsError, type AwsCallContext } from '../aws/errors.ts';
import { callWithRetry, type RetryHooks } from '../aws/retry.ts';
import { sendCapturing, type SecretCapture } from '../aws/secret-capture.ts';
import { UnlockError } from '../errors.ts';
import type { Clock, Logger, VolumeConfig } from '../types.ts';
import { Secret, SECRET_MAX_BYTES } from './secret.ts';

/** How many versions fetchSsmHistory returns unless told; SSM itself keeps at most 100. */
export const SSM_HISTORY_DEFAULT = 5;
export const SSM_HISTORY_MAX = 100;
const HISTORY_PAGE_SIZE = 50;
const HISTORY_PAGES_MAX = 4;

export interface FetchedSecret {
  secret: Secret;
  version: number;
  name: string;
  arn?: string;
  lastModified?: Date;
}

export interface SsmFetchOptions {
  aws: AwsContext;
  /** SSM_PATH: a name or an ARN, without :version or :label. */
  name: string;
  selector: VolumeConfig['ssmSelector'];
  deadline: number;
  clock: Clock;
  log?: Logger;
  /** start's race with a typed key: stop early, and hear about each retry. */
  hooks?: RetryHooks;
}

export interface SsmHistoryOptions extends Omit<SsmFetchOptions, 'selector'> {
  /** At most this many versions, newest first (default SSM_HISTORY_DEFAULT, at most SSM_HISTORY_MAX). */
  limit?: number;
}

/** The fields of Parameter and ParameterHistory that we read. */
interface StoredValue {
  Name?: string;
  Type?: string;
  Value?: string;
  Version?: number;
  ARN?: string;
  LastModifiedDate?: Date;
}

/** "/x", "/x:3", "/x:prod": GetParameter's name syntax for a version or label. */
export function parameterNameOf(name: string, selector: VolumeConfig['ssmSelector']): string {
  if (selector === undefined) return name;
  return 'version' in selector ? `${name}:${selector.version}` : `${name}:${selector.label}`;
}

/**
 * Checks type and size, then wraps the value's bytes in a Secret: `Value` in the SDK's output is only a
 * placeholder for bytes the request handler lifted out of the raw body (src/aws/secret-capture.ts), so the
 * passphrase is never a JS string. Refusals are CONFIG: the parameter exists but cannot be a passphrase, and
 * retrying will not change that; the fix is in how it is stored.
 */
function toSecret(stored: StoredValue, capture: SecretCapture, display: string): Secret {
  const bytes = capture.take(stored.Value);
  stored.Value = undefined;
  if (stored.Type !== 'SecureString') {
    bytes?.fill(0);
    // Only a known type is named: the field comes from the answer, and a garbled answer can put anything in it
    // (the AWS fuzzer of #14 saw passphrase bytes there).
    const type = stored.Type === 'String' || stored.Type === 'StringList' ? stored.Type : 'parameter of another type';
    throw new UnlockError('CONFIG', `SSM parameter ${display} is a ${type}, not a SecureString, refusing.`, {
      hint: 'store the passphrase as a SecureString: aws ssm put-parameter --type SecureString …',
    });
  }
  if (bytes === undefined) throw malformedAnswer(display, 'its Value is not a string');
  if (bytes.length === 0) throw new UnlockError('CONFIG', `SSM parameter ${display} is empty, refusing.`);
  if (bytes.length > SECRET_MAX_BYTES) {
    bytes.fill(0);
    throw new UnlockError('CONFIG', `SSM parameter ${display} is larger than 16 MiB, refusing.`);
  }
  return Secret.adopt(bytes);
}

/**
 * An answer AWS itself never gives (a proxy's or a broken endpoint's): retried like any other garbled answer, and
 * described by fixed words, never by what the fields held (review 13).
 */
function malformedAnswer(display: string, what: string): UnlockError {
  return new UnlockError('AWS_UNAVAILABLE', `The answer for SSM parameter ${display} is malformed (${what}), refusing`, {
    retryable: true,
    hint: 'check the SSM endpoint in use (SSM_ENDPOINT, AWS_ENDPOINT_URL_SSM, a proxy): AWS never answers so',
  });
}

/**
 * The fetched key with what is known of it. The name is the configured one, not the answer's (which is not checked
 * by the SDK and goes into logs, the status line and the unlock record); the version must be a version number.
 */
/** The answer's Version when it is a version number (a positive whole number), else undefined. */
function versionOf(stored: StoredValue): number | undefined {
  const version = stored.Version;
  return Number.isSafeInteger(version) && (version as number) > 0 ? version : undefined;
}

function fetched(stored: StoredValue, secret: Secret, name: string, display: string): FetchedSecret {
  const version = versionOf(stored);
  if (stored.Version !== undefined && version === undefined) {
    secret.wipe();
    throw malformedAnswer(display, 'its Version is not a version number');
  }
  return {
    secret,
    version: version ?? 0,
    name,
    ...(stored.ARN === undefined ? {} : { arn: stored.ARN }),
    ...(stored.LastModifiedDate === undefined ? {} : { lastModified: stored.LastModifiedDate }),
  };
}

/** GetParameter WithDecryption, retried within the deadline; every failure is one UnlockError line. */
export async function fetchSsmSecret(opts: SsmFetchOptions): Promise<FetchedSecret> {
  const { aws, name, selector, log } = opts;
  const full = parameterNameOf(name, selector);
  const ctx: AwsCallContext = { what: `get SSM parameter ${full}`, action: 'ssm:GetParameter', region: aws.region, parameter: name, selector };
  let stored: StoredValue;
  let capture: SecretCapture | undefined;
  try {
    const answer = await callWithRetry(
      (abortSignal) => sendCapturing(abortSignal, 'Value', (signal) => aws.ssm().send(new GetParameterCommand({ Name: full, WithDecryption: true }), { abortSignal: signal })),
      { deadline: opts.deadline, clock: opts.clock, what: ctx.what, attemptTimeoutMs: AWS_ATTEMPT_TIMEOUT_MS, ...(log ? { log } : {}), ...opts.hooks },
    );
    capture = answer.capture;
    if (answer.out.Parameter === undefined) throw new UnlockError('AWS_NOT_FOUND', `SSM parameter ${full} not found in ${aws.region} (empty answer)`);
    stored = answer.out.Parameter;
  } catch (err) {
    capture?.wipe();
    throw mapAwsError(err, ctx);
  }
  let result: FetchedSecret;
  try {
    result = fetched(stored, toSecret(stored, capture, full), name, full);
  } finally {
    capture.wipe();
  }
  log?.debug({ parameter: result.name, version: result.version, region: aws.region }, 'Fetched SSM parameter');
  return result;
}

/**
 * The newest `limit` versions, newest first, for falling back to an older passphrase after a rotation.
 * Versions that are not a usable SecureString are skipped with a warning. The caller wipes every secret.
 */
export async function fetchSsmHistory(opts: SsmHistoryOptions): Promise<FetchedSecret[]> {
  const { aws, name, log } = opts;
  const limit = Math.max(1, Math.min(opts.limit ?? SSM_HISTORY_DEFAULT, SSM_HISTORY_MAX));
  const ctx: AwsCallContext = { what: `get the history of SSM parameter ${name}`, action: 'ssm:GetParameterHistory', region: aws.region, parameter: name };
  const all: StoredValue[] = [];
  const captures: SecretCapture[] = [];
  // Which page's capture holds each version's value.
  const captureOf = new Map<StoredValue, SecretCapture>();
  try {
    let nextToken: string | undefined;
    for (let page = 0; page < HISTORY_PAGES_MAX; page += 1) {
      const input = { Name: name, WithDecryption: true, MaxResults: HISTORY_PAGE_SIZE, ...(nextToken ? { NextToken: nextToken } : {}) };
      const { out, capture } = await callWithRetry(
        (abortSignal) => sendCapturing(abortSignal, 'Value', (signal) => aws.ssm().send(new GetParameterHistoryCommand(input), { abortSignal: signal })),
        { deadline: opts.deadline, clock: opts.clock, what: ctx.what, attemptTimeoutMs: AWS_ATTEMPT_TIMEOUT_MS, ...(log ? { log } : {}), ...opts.hooks },
      );
      captures.push(capture);
      for (const stored of out.Parameters ?? []) captureOf.set(stored, capture);
      all.push(...(out.Parameters ?? []));
      nextToken = out.NextToken;
      if (!nextToken) break;
    }
  } catch (err) {
    for (const capture of captures) capture.wipe();
    throw mapAwsError(err, ctx);
  }
  all.sort((a, b) => (versionOf(b) ?? 0) - (versionOf(a) ?? 0));
  const result: FetchedSecret[] = [];
  try {
    for (const stored of all) {
      if (result.length >= limit) continue;
      // Only a checked version is ever shown: the field comes from the answer (review 14).
      const version = versionOf(stored);
      const display = `${name}:${version ?? '?'}`;
      try {
        result.push(fetched(stored, toSecret(stored, captureOf.get(stored) as SecretCapture, display), name, display));
      } catch (err) {
        log?.warn({ parameter: name, version, reason: (err as Error).message }, `SSM parameter ${display} is not usable, ignoring.`);
      }
    }
  } finally {
    for (const capture of captures) capture.wipe();
  }
  return result;
}
