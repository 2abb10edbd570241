// A small IMDSv2 client with per-request timeouts, so region and credentials honour our deadline.
import { checkedEnvEndpoint } from './endpoint-url.ts';
import { sendHttp, type HttpReply } from './http1.ts';

/** The production default (EC2 User Guide, "Access instance metadata"); tests always point it at loopback. */
export const DEFAULT_IMDS_ENDPOINT = 'http://169.254.169.254';
export const DEFAULT_IMDS_IPV6_ENDPOINT = 'http://[fd00:ec2::254]';
/**
 * Per-request timeout: starts at the SDK's 1 s (smithy RemoteProviderInit DEFAULT_TIMEOUT) and doubles after
 * each timeout up to 8 s, because at early boot IMDS can take seconds to answer, and a fixed short timeout
 * would then never get an answer at all.
 */
export const IMDS_REQUEST_TIMEOUT_MS = 1_000;
export const IMDS_REQUEST_TIMEOUT_MAX_MS = 8_000;
/** IMDS answers are tiny (a region, a role, a credentials document); anything larger is not IMDS. */
const IMDS_BODY_MAX_BYTES = 64 * 1024;
const TOKEN_TTL_SEC = '21600';

export type Env = Record<string, string | undefined>;

/** IMDS_ENDPOINT from config, else AWS_EC2_METADATA_SERVICE_ENDPOINT(_MODE) as the SDK reads them, else the default. */
export function imdsEndpointOf(configured: string | undefined, env: Env): string {
  if (configured) return configured;
  if (env.AWS_EC2_METADATA_SERVICE_ENDPOINT) return checkedEnvEndpoint('AWS_EC2_METADATA_SERVICE_ENDPOINT', env.AWS_EC2_METADATA_SERVICE_ENDPOINT, { imds: true });
  return env.AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE?.toLowerCase() === 'ipv6' ? DEFAULT_IMDS_IPV6_ENDPOINT : DEFAULT_IMDS_ENDPOINT;
}

/** AWS_EC2_METADATA_DISABLED=true turns instance metadata off, as in the SDKs. */
export function imdsDisabled(env: Env): boolean {
  return env.AWS_EC2_METADATA_DISABLED?.toLowerCase() === 'true';
}

export interface ImdsGetOptions {
  /** Upper bound for each request (e.g. the time left before the deadline); the client's own may be shorter. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ImdsClient {
  endpoint: string;
  /** GET a metadata path with a session token (fetched once, refreshed on 401). One try; callers retry. */
  get(path: string, options?: ImdsGetOptions): Promise<string>;
}

interface ImdsRequest {
  method: 'GET' | 'PUT';
  path: string;
  headers: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Errors carry `imds: true` and the HTTP status, or keep Node's network `code`, for classifyTransient. */
function imdsError(message: string, fields: { statusCode?: number; code?: string; cause?: unknown }): Error {
  return Object.assign(new Error(message, { cause: fields.cause }), { name: 'ImdsError', imds: true, ...fields });
}

async function request(endpoint: string, req: ImdsRequest): Promise<string> {
  const url = new URL(req.path, endpoint);
  let reply: HttpReply;
  try {
    reply = await sendHttp({
      protocol: url.protocol === 'https:' ? 'https:' : 'http:',
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      method: req.method,
      path: `${url.pathname}${url.search}`,
      headers: req.headers,
      connectTimeoutMs: req.timeoutMs,
      timeoutMs: req.timeoutMs,
      ...(req.signal ? { signal: req.signal } : {}),
      maxBodyBytes: IMDS_BODY_MAX_BYTES,
    });
  } catch (error) {
    const err = error as Error & { code?: string };
    // An abort is the deadline's: report it as ETIMEDOUT, a transient "no answer", like our own timeout.
    const code = err.name === 'AbortError' ? 'ETIMEDOUT' : err.code;
    const detail = code === undefined || code === 'HPE_INVALID_RESPONSE' ? err.message : code;
    throw imdsError(`instance metadata ${req.method} ${req.path} failed: ${detail}`, { ...(code ? { code } : {}), cause: err });
  }
  if (reply.statusCode !== 200) {
    throw imdsError(`instance metadata ${req.method} ${req.path}: HTTP ${reply.statusCode}`, { statusCode: reply.statusCode });
  }
  return reply.body.toString('utf8');
}

/** IMDSv2 only: a PUT for a session token, then GETs with it (no IMDSv1 fallback). Share one per run. */
export function createImdsClient(endpoint: string): ImdsClient {
  let token: Promise<string> | undefined;
  let adaptiveMs = IMDS_REQUEST_TIMEOUT_MS;
  const send = async (req: Omit<ImdsRequest, 'timeoutMs'>, limitMs: number | undefined): Promise<string> => {
    const timeoutMs = Math.max(1, Math.min(adaptiveMs, limitMs ?? Infinity));
    try {
      return await request(endpoint, { ...req, timeoutMs });
    } catch (err) {
      const timedOut = (err as { code?: string }).code === 'ETIMEDOUT' && !req.signal?.aborted;
      if (timedOut && timeoutMs === adaptiveMs) adaptiveMs = Math.min(IMDS_REQUEST_TIMEOUT_MAX_MS, adaptiveMs * 2);
      throw err;
    }
  };
  const fetchToken = (options: ImdsGetOptions): Promise<string> => {
    if (token !== undefined) return token;
    const headers = { 'x-aws-ec2-metadata-token-ttl-seconds': TOKEN_TTL_SEC };
    const pending = send({ method: 'PUT', path: '/latest/api/token', headers, ...(options.signal ? { signal: options.signal } : {}) }, options.timeoutMs);
    token = pending;
    pending.catch(() => {
      if (token === pending) token = undefined;
    });
    return pending;
  };
  const getOnce = async (path: string, options: ImdsGetOptions): Promise<string> => {
    const headers = { 'x-aws-ec2-metadata-token': await fetchToken(options) };
    return send({ method: 'GET', path, headers, ...(options.signal ? { signal: options.signal } : {}) }, options.timeoutMs);
  };
  const get = async (path: string, options: ImdsGetOptions = {}): Promise<string> => {
    try {
      return await getOnce(path, options);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 401) throw err;
      token = undefined; // expired or rejected session token: fetch a new one, once
      return getOnce(path, options);
    }
  };
  return { endpoint, get };
}
