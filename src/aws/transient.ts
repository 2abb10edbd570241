// Tells a transient AWS/IMDS failure (worth retrying before the deadline) from a final answer, and names it.

/** What went wrong on an attempt that may succeed if tried again. */
export type TransientKind = 'throttled' | 'server' | 'network' | 'timeout' | 'expired';

export interface TransientFailure {
  kind: TransientKind;
  /** The error's name, code or HTTP status, e.g. ThrottlingException, ECONNRESET, HTTP 503. */
  detail: string;
  /** True when instance metadata (region or credentials), not the AWS service, failed. */
  imds: boolean;
}

const THROTTLING_NAMES = new Set([
  'ThrottlingException', 'Throttling', 'ThrottledException', 'TooManyUpdates', 'RequestLimitExceeded',
  'TooManyRequestsException', 'RequestThrottled', 'RequestThrottledException', 'SlowDown',
]);

const SERVER_NAMES = new Set([
  'InternalServerError', 'InternalServerErrorException', 'InternalFailure', 'InternalError',
  'ServiceUnavailable', 'ServiceUnavailableException', 'KMSInternalException', 'DependencyTimeoutException',
  // KMS: "the specified KMS key was not available. You can retry the request."
  'KeyUnavailableException',
]);

const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENETDOWN', 'EHOSTDOWN',
  'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET', 'ERR_HTTP2_STREAM_ERROR',
]);

const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError']);

interface ErrorFields {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  statusCode?: unknown;
  imds?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** Strips the "KMS." prefix SSM puts on errors from calls it made to KMS for us. */
export function errorNameOf(err: unknown): string {
  const name = (err as ErrorFields | undefined)?.name;
  return typeof name === 'string' ? name.replace(/^KMS\./, '') : '';
}

function statusOf(e: ErrorFields): number | undefined {
  const status = e.$metadata?.httpStatusCode ?? e.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Returns how an error is transient, or undefined when it is a final answer (denied, not found…). */
export function classifyTransient(err: unknown): TransientFailure | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as ErrorFields;
  const name = errorNameOf(err);
  const code = typeof e.code === 'string' ? e.code : '';
  const status = statusOf(e);
  const imds = e.imds === true;
  const failure = (kind: TransientKind, detail: string): TransientFailure => ({ kind, detail, imds });

  // Marked by credential-renewal.ts: the instance profile's credentials expired and are being fetched again.
  if ((e as { credentialsRenewed?: unknown }).credentialsRenewed === true) return failure('expired', name);
  if (THROTTLING_NAMES.has(name) || status === 429) return failure('throttled', THROTTLING_NAMES.has(name) ? name : 'HTTP 429');
  if (SERVER_NAMES.has(name)) return failure('server', status === undefined ? name : `${name}, HTTP ${status}`);
  if (status !== undefined && status >= 500) return failure('server', `HTTP ${status}`);
  if (code === 'ETIMEDOUT' || TIMEOUT_NAMES.has(name)) return failure('timeout', code === 'ETIMEDOUT' ? code : name);
  if (NETWORK_CODES.has(code)) return failure('network', code);
  // A body cut short, garbled or oversized is a proxy's or the network's doing, not AWS's answer: another try
  // may get a whole one. The detail is fixed text: the parser's own message quotes the body.
  if (isMalformedResponse(err)) return failure('server', `malformed response${status === undefined ? '' : `, HTTP ${status}`}`);
  if (code === 'HPE_INVALID_RESPONSE') return failure('server', 'malformed HTTP response');
  if (typeof e.message === 'string' && /socket hang up/i.test(e.message)) return failure('network', 'socket hang up');
  return undefined;
}

/**
 * The SDK could not parse the body: its SyntaxError quotes the body's first bytes (the passphrase, for a
 * GetParameter answer cut short by a broken proxy) and keeps the whole body in hidden fields.
 */
export function isMalformedResponse(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  if ((err as ErrorFields).name === 'SyntaxError' || '$responseBodyText' in err) return true;
  // A field the SDK could not read (a date that is no date: "Expected real number, got implicit NaN"): its
  // deserializer hangs the response on the error, hidden; of such errors only AWS's own carry $fault (review 13).
  return '$response' in err && !('$fault' in err);
}

/** What may be kept of such an error: the HTTP status, never the parser's message or the body. */
export function malformedResponseError(err: unknown): Error {
  const status = typeof err === 'object' && err !== null ? statusOf(err as ErrorFields) : undefined;
  const error = new Error(`the response is not valid JSON${status === undefined ? '' : ` (HTTP ${status})`}`);
  return Object.assign(error, { name: 'MalformedResponse', $metadata: { httpStatusCode: status } });
}

const KIND_WORDS: Record<TransientKind, string> = {
  throttled: 'throttled',
  server: 'server error',
  network: 'network error',
  timeout: 'timed out',
  expired: 'credentials expired',
};

/** "throttled (ThrottlingException)", "instance metadata: network error (ECONNREFUSED)". */
export function describeTransient(failure: TransientFailure): string {
  const text = `${KIND_WORDS[failure.kind]} (${failure.detail})`;
  return failure.imds ? `instance metadata: ${text}` : text;
}
