// IMDSv2: session tokens, instance identity, and role credentials the SigV4 check then accepts.
import type { IncomingHttpHeaders } from 'node:http';
import { imdsTokenExpiry, issueImdsToken, issueSession } from './sealed.ts';
import type { KnownCredentials, State } from './store.ts';

export interface ImdsAnswer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export const IMDS_TOKEN_TTL_MAX = 21_600;
/** Role credentials live 6 hours and are replaced when less than 5 minutes remain, like EC2's. */
const CREDENTIALS_TTL_MS = 6 * 3_600_000;
const CREDENTIALS_REFRESH_MS = 5 * 60_000;

const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const text = (status: number, body: string, headers?: Record<string, string>): ImdsAnswer => ({ status, body, headers });
const NOT_FOUND = text(404, '<?xml version="1.0" encoding="iso-8859-1"?>\n<title>404 - Not Found</title>\n');

/** The role credentials IMDS currently serves (sealed, so SigV4 accepts them without a registry). */
export function roleCredentials(state: State, now: number): KnownCredentials {
  const current = state.imdsCredentials;
  if (current?.expiration !== undefined && current.expiration - now > CREDENTIALS_REFRESH_MS) return current;
  const issued = issueSession(`arn:aws:sts::${state.accountId}:assumed-role/${state.role}/${state.instanceId}`, now + CREDENTIALS_TTL_MS);
  state.imdsCredentials = issued;
  return issued;
}

function issueToken(headers: IncomingHttpHeaders, now: number): ImdsAnswer {
  if (headers['x-forwarded-for'] !== undefined) return text(403, 'Forbidden');
  const ttlText = headers['x-aws-ec2-metadata-token-ttl-seconds'];
  const ttl = typeof ttlText === 'string' && /^\d+$/.test(ttlText) ? Number(ttlText) : NaN;
  if (!(ttl >= 1 && ttl <= IMDS_TOKEN_TTL_MAX)) return text(400, 'Bad Request');
  const token = issueImdsToken(now + ttl * 1000);
  return text(200, token, { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
}

/** Tokens are sealed strings carrying their expiry, valid across emulator restarts. */
function hasValidToken(headers: IncomingHttpHeaders, now: number): boolean {
  const token = headers['x-aws-ec2-metadata-token'];
  const expiry = typeof token === 'string' ? imdsTokenExpiry(token) : undefined;
  return expiry !== undefined && now < expiry;
}

function metadata(state: State, path: string, now: number): ImdsAnswer {
  const credentialsPrefix = '/latest/meta-data/iam/security-credentials/';
  switch (path) {
    case '/latest/meta-data/':
      return text(200, 'ami-id\nhostname\niam/\ninstance-id\ninstance-type\nplacement/');
    case '/latest/meta-data/instance-id':
      return text(200, state.instanceId);
    case '/latest/meta-data/instance-type':
      return text(200, 't3.micro');
    case '/latest/meta-data/placement/region':
      return text(200, state.region);
    case '/latest/meta-data/placement/availability-zone':
      return text(200, `${state.region}a`);
    case '/latest/meta-data/iam/security-credentials':
    case credentialsPrefix:
      return text(200, state.role);
    case '/latest/dynamic/instance-identity/document':
      return text(200, JSON.stringify({
        accountId: state.accountId, architecture: 'x86_64', availabilityZone: `${state.region}a`, imageId: 'ami-0123456789abcdef0',
        instanceId: state.instanceId, instanceType: 't3.micro', pendingTime: isoSeconds(now), privateIp: '10.0.2.15',
        region: state.region, version: '2017-09-30',
      }, null, 2));
  }
  if (path === `${credentialsPrefix}${state.role}`) {
    const creds = roleCredentials(state, now);
    return text(200, JSON.stringify({
      Code: 'Success', LastUpdated: isoSeconds(now), Type: 'AWS-HMAC', AccessKeyId: creds.accessKeyId,
      SecretAccessKey: creds.secretAccessKey, Token: creds.sessionToken, Expiration: isoSeconds(creds.expiration ?? now),
    }, null, 2));
  }
  return NOT_FOUND;
}

/** IMDSv2 only (HttpTokens=required): a GET without a valid, unexpired token is 401. */
export function answerImds(state: State, method: string, path: string, headers: IncomingHttpHeaders, now: number): ImdsAnswer {
  if (path === '/latest/api/token') return method === 'PUT' ? issueToken(headers, now) : text(405, 'Method Not Allowed');
  if (method !== 'GET' && method !== 'HEAD') return text(405, 'Method Not Allowed');
  if (!hasValidToken(headers, now)) return text(401, 'Unauthorized');
  return metadata(state, path, now);
}

/** The log's action name for an IMDS path. */
export function imdsAction(method: string, path: string): string {
  if (path === '/latest/api/token') return 'token';
  if (path.startsWith('/latest/meta-data/iam/security-credentials')) return 'credentials';
  return `${method} ${path}`;
}
