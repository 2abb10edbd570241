// AWS credentials from the environment, then the instance profile (IMDSv2): the only two that apply at boot.
// The bundle aliases @aws-sdk/credential-provider-node to this file, so it exports that package's names.
import { UnlockError, isUnlockError, printable } from '../errors.ts';
import type { Clock } from '../types.ts';
import { remainingMs } from './deadline.ts';
import { createImdsClient, imdsDisabled, imdsEndpointOf, type Env, type ImdsClient } from './imds.ts';
import { classifyTransient } from './transient.ts';

/** Structurally the SDK's AwsCredentialIdentity. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
  accountId?: string;
}

export type CredentialProvider = (options?: { forceRefresh?: boolean }) => Promise<AwsCredentials>;

export interface CredentialOptions {
  env: Env;
  /** IMDS_ENDPOINT from the config file (else the environment's, else the default). */
  imdsEndpoint?: string;
  /** When set, IMDS requests never run past it. */
  deadline?: number;
  clock?: Clock;
  /** Upper bound per IMDS request (the client adapts below it). */
  timeoutMs?: number;
  /** Shared with region resolution (one session token); by default one for imdsEndpointOf(imdsEndpoint, env). */
  imds?: ImdsClient;
}

const ROLE_PATH = '/latest/meta-data/iam/security-credentials/';
/** Refresh five minutes before expiry, as the SDK's default chain does. */
const EXPIRY_MARGIN_MS = 300_000;

export const credentialsWillNeedRefresh = (credentials: AwsCredentials): boolean => credentials?.expiration !== undefined;
export const credentialsTreatedAsExpired = (credentials: AwsCredentials): boolean =>
  credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < EXPIRY_MARGIN_MS;

function noCredentials(detail: string, cause?: unknown): UnlockError {
  return new UnlockError('AWS_UNAVAILABLE',
    `No AWS credentials: attach an instance profile with ssm:GetParameter, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (${detail})`,
    { cause });
}

function fromEnvironment(env: Env): AwsCredentials | undefined {
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) return undefined;
  const expiration = env.AWS_CREDENTIAL_EXPIRATION ? new Date(env.AWS_CREDENTIAL_EXPIRATION) : undefined;
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    ...(expiration && !Number.isNaN(expiration.getTime()) ? { expiration } : {}),
    ...(env.AWS_ACCOUNT_ID ? { accountId: env.AWS_ACCOUNT_ID } : {}),
  };
}

interface ImdsCredentialsDocument {
  Code?: string;
  AccessKeyId?: string;
  SecretAccessKey?: string;
  Token?: string;
  Expiration?: string;
  AccountId?: string;
}

/** "PUT /latest/api/token" out of the IMDS client's "instance metadata PUT /latest/api/token: HTTP 403". */
function imdsCallOf(message: unknown): string {
  return /^instance metadata ([A-Z]+ \S+?):? /.exec(String(message))?.[1] ?? 'instance metadata';
}

/** One try (callers retry transient failures within their deadline); a missing role is final. */
async function fromInstanceProfile(imds: ImdsClient, timeoutMs: () => number | undefined): Promise<AwsCredentials> {
  const at = `instance metadata at ${imds.endpoint}`;
  // Transient failures go up raw for the caller's retry; any other answer (403 on the token PUT, an oversized
  // or malformed reply) is IMDS not serving us: AWS_UNAVAILABLE, not an internal error.
  const notFound = (err: unknown): never => {
    if ((err as { statusCode?: number }).statusCode === 404) throw noCredentials(`${at}: no instance profile attached`, err);
    if (isUnlockError(err) || classifyTransient(err) !== undefined) throw err;
    const status = (err as { statusCode?: unknown }).statusCode;
    const message = (err as { message?: unknown }).message;
    const detail = typeof status === 'number' ? `${imdsCallOf(message)} answered HTTP ${status}` : printable(String(message ?? err)).replace(/^instance metadata /, '');
    throw noCredentials(`${at}: ${detail}`, err);
  };
  const limit = (): { timeoutMs?: number } => {
    const ms = timeoutMs();
    return ms === undefined ? {} : { timeoutMs: ms };
  };
  const roles = await imds.get(ROLE_PATH, limit()).catch(notFound);
  // The role name and Code come from instance metadata: shown printable (see printable in src/errors.ts).
  const role = printable(roles.split('\n')[0]?.trim() ?? '');
  if (!role) throw noCredentials(`${at}: no instance profile attached`);
  const body = await imds.get(ROLE_PATH + encodeURIComponent(role), limit()).catch(notFound);
  let doc: ImdsCredentialsDocument;
  try {
    doc = JSON.parse(body) as ImdsCredentialsDocument;
  } catch {
    // No cause: JSON.parse's message quotes the document, which holds the secret key.
    throw noCredentials(`${at}: role ${role} returned a credentials document that is not JSON`);
  }
  if (doc.Code !== undefined && doc.Code !== 'Success') throw noCredentials(`${at}: role ${role} credentials: ${printable(String(doc.Code))}`);
  if (!doc.AccessKeyId || !doc.SecretAccessKey) throw noCredentials(`${at}: role ${role} credentials document is incomplete`);
  return {
    accessKeyId: doc.AccessKeyId,
    secretAccessKey: doc.SecretAccessKey,
    ...(doc.Token ? { sessionToken: doc.Token } : {}),
    ...(doc.Expiration ? { expiration: new Date(doc.Expiration) } : {}),
    ...(doc.AccountId ? { accountId: doc.AccountId } : {}),
  };
}

/** Environment, then instance profile; memoized until five minutes before expiry, failures not cached. */
export function createCredentialProvider(opts: CredentialOptions): CredentialProvider {
  let cached: Promise<AwsCredentials> | undefined;
  let imds = opts.imds;
  const timeoutMs = (): number | undefined => {
    if (opts.deadline === undefined || opts.clock === undefined) return opts.timeoutMs;
    return Math.max(1, Math.min(opts.timeoutMs ?? Infinity, remainingMs(opts.deadline, opts.clock)));
  };
  const resolve = async (): Promise<AwsCredentials> => {
    const env = fromEnvironment(opts.env);
    if (env) return env;
    if (imdsDisabled(opts.env)) throw noCredentials('none in the environment, and AWS_EC2_METADATA_DISABLED is set');
    imds ??= createImdsClient(imdsEndpointOf(opts.imdsEndpoint, opts.env));
    return fromInstanceProfile(imds, timeoutMs);
  };
  return async (options) => {
    if (cached !== undefined && !options?.forceRefresh) {
      const current = await cached.catch(() => undefined);
      if (current !== undefined && !credentialsTreatedAsExpired(current)) return current;
    }
    const pending = resolve();
    cached = pending;
    pending.catch(() => {
      if (cached === pending) cached = undefined;
    });
    return pending;
  };
}

/** Same shape as @aws-sdk/credential-provider-node's defaultProvider, reading process.env when called. */
export function defaultProvider(init: { timeout?: number } = {}): CredentialProvider {
  return createCredentialProvider({ env: process.env, ...(init.timeout === undefined ? {} : { timeoutMs: init.timeout }) });
}
