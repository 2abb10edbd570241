// Checks AWS Signature Version 4 on SSM/KMS requests against the credentials the emulator knows.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { AwsError } from './errors.ts';
import { openSession } from './sealed.ts';
import type { KnownCredentials, State } from './store.ts';

export interface SignedRequest {
  method: string;
  /** Path and query as received (req.url). */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const AUTH_PATTERN = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/;
/** SigV4 allows 5 minutes of clock difference each way. */
const SKEW_MAX_MS = 5 * 60_000;
export const SIGNATURE_MISMATCH = 'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 escaping, as the SDK's signer does (encodeURIComponent plus !'()*). */
function escapeUri(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of decodeURIComponent(path).split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const joined = `/${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escapeUri(joined).replace(/%2F/g, '/');
}

function canonicalQuery(search: URLSearchParams): string {
  return [...search]
    .map(([k, v]) => [escapeUri(k), escapeUri(v)])
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function headerValue(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  const text = Array.isArray(value) ? value.join(',') : value ?? '';
  return text.trim().replace(/\s+/g, ' ');
}

function amzDateOf(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) throw new AwsError('IncompleteSignatureException', `Date must be in ISO-8601 'basic format'. Got '${text}'. See http://en.wikipedia.org/wiki/ISO_8601`);
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

const basicFormat = (ms: number): string => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

function checkClock(amzDate: string, now: number): void {
  const signed = amzDateOf(amzDate);
  if (signed < now - SKEW_MAX_MS) {
    throw new AwsError('InvalidSignatureException', `Signature expired: ${amzDate} is now earlier than ${basicFormat(now - SKEW_MAX_MS)} (${basicFormat(now)} - 5 min.)`);
  }
  if (signed > now + SKEW_MAX_MS) {
    throw new AwsError('InvalidSignatureException', `Signature not yet current: ${amzDate} is still later than ${basicFormat(now + SKEW_MAX_MS)} (${basicFormat(now)} + 5 min.)`);
  }
}

function knownCaller(state: State, accessKeyId: string, token: string, now: number): KnownCredentials {
  const known = state.credentials.get(accessKeyId) ?? openSession(state, accessKeyId, token);
  if (known === undefined || (known.sessionToken ?? '') !== token) {
    throw new AwsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  if (known.expiration !== undefined && now >= known.expiration) {
    throw new AwsError('ExpiredTokenException', 'The security token included in the request is expired');
  }
  return known;
}

/** Returns who signed the request, or throws the error AWS would answer with. */
export function verifySignature(state: State, req: SignedRequest, service: string, now: number): KnownCredentials {
  const authorization = headerValue(req.headers, 'authorization');
  if (authorization === '') throw new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const auth = AUTH_PATTERN.exec(authorization);
  if (!auth) {
    throw new AwsError('IncompleteSignatureException', 'Authorization header requires \'Credential\', \'SignedHeaders\' and \'Signature\' parameters (AWS4-HMAC-SHA256).');
  }
  const [, credential, signedHeaderList, signature] = auth;
  const [accessKeyId, day, region, scopeService, terminator] = credential.split('/');
  const caller = knownCaller(state, accessKeyId, headerValue(req.headers, 'x-amz-security-token'), now);
  if (terminator !== 'aws4_request') throw new AwsError('IncompleteSignatureException', 'Credential should be scoped with a valid terminator: \'aws4_request\'.');
  if (scopeService !== service) throw new AwsError('InvalidSignatureException', `Credential should be scoped to correct service: '${service}'. `);
  if (region !== state.region) throw new AwsError('InvalidSignatureException', 'Credential should be scoped to a valid region. ');
  const amzDate = headerValue(req.headers, 'x-amz-date');
  checkClock(amzDate, now);
  if (amzDate.slice(0, 8) !== day) {
    throw new AwsError('InvalidSignatureException', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${day}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`);
  }
  const signedHeaders = signedHeaderList.split(';');
  if (!signedHeaders.includes('host')) throw new AwsError('InvalidSignatureException', '\'Host\' or \':authority\' must be a \'SignedHeader\' in the AWS Authorization.');
  const url = new URL(req.url, 'http://emulator.invalid');
  // The hash of the body received, never the client's x-amz-content-sha256 claim: a changed body must fail.
  const payloadHash = sha256(req.body);
  const canonicalRequest = [
    req.method, canonicalPath(url.pathname), canonicalQuery(url.searchParams),
    signedHeaders.map((h) => `${h}:${headerValue(req.headers, h)}\n`).join(''), signedHeaderList, payloadHash,
  ].join('\n');
  const scope = `${day}/${region}/${scopeService}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${caller.secretAccessKey}`, day), region), scopeService), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) throw new AwsError('InvalidSignatureException', SIGNATURE_MISMATCH);
  return caller;
}
