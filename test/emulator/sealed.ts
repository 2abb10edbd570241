// Stateless session credentials and IMDS tokens: sealed strings any emulator instance can check,
// so a guest holding credentials from before an emulator restart (same port) keeps working.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KnownCredentials, State } from './store.ts';

/** A fixed test-only sealing key: it protects nothing real, it only makes sealed strings checkable. */
const SEAL_KEY = 'luks-ssm-emulator-seal-v1';

interface SessionClaims {
  /** access key id */
  a: string;
  /** expiry, epoch ms */
  e: number;
  /** identity ARN */
  i: string;
}

const mac = (purpose: string, text: string): Buffer => createHmac('sha256', SEAL_KEY).update(`${purpose}\n${text}`).digest();

function seal(purpose: string, claims: object): string {
  const body = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
  return `${body}.${mac(purpose, body).toString('base64url')}`;
}

function unseal(purpose: string, sealed: string): unknown {
  const [body, tag, extra] = sealed.split('.');
  if (body === undefined || tag === undefined || extra !== undefined) return undefined;
  const expected = mac(purpose, body);
  const given = Buffer.from(tag, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    return JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function randomAlnum(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
}

const secretFor = (accessKeyId: string): string => mac('secret', accessKeyId).toString('base64').slice(0, 40);

export function issueSession(identityArn: string, expiration: number): KnownCredentials {
  const accessKeyId = `ASIA${randomAlnum(16)}`;
  return {
    accessKeyId,
    secretAccessKey: secretFor(accessKeyId),
    sessionToken: seal('session', { a: accessKeyId, e: expiration, i: identityArn } satisfies SessionClaims),
    expiration,
    identityArn,
  };
}

/** The session a token describes, if it is ours, for this access key and this account. */
export function openSession(state: State, accessKeyId: string, token: string): KnownCredentials | undefined {
  const claims = unseal('session', token) as Partial<SessionClaims> | undefined;
  if (claims?.a !== accessKeyId || typeof claims.e !== 'number' || typeof claims.i !== 'string') return undefined;
  if (!claims.i.includes(`::${state.accountId}:`)) return undefined;
  return { accessKeyId, secretAccessKey: secretFor(accessKeyId), sessionToken: token, expiration: claims.e, identityArn: claims.i };
}

export function issueImdsToken(expiry: number): string {
  return seal('imds', { e: expiry, n: randomAlnum(8) });
}

export function imdsTokenExpiry(token: string): number | undefined {
  const claims = unseal('imds', token) as { e?: unknown } | undefined;
  return typeof claims?.e === 'number' ? claims.e : undefined;
}
