// One HTTP/1.1 request per connection over node:net or node:tls, for the SDK clients and instance metadata.
// Not node:http: loading and first use of its client cost ~6 ms of a ~70 ms start (scripts/bench.mjs), and
// these calls need none of it (no pooling, proxies, upgrades or streaming: small JSON in, small JSON out).
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { allocWipeable } from './byte-store.ts';
import { createResponseParser, hangUp, type HttpReply } from './http1-response.ts';

export type { HttpReply } from './http1-response.ts';

export interface HttpCall {
  protocol: 'http:' | 'https:';
  /** A DNS name or IP address; an IPv6 address may come in brackets. */
  hostname: string;
  port?: number;
  method: string;
  /** Path with its query string. */
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** TCP (and TLS) connection set-up. */
  connectTimeoutMs: number;
  /** The whole exchange, connection included. */
  timeoutMs: number;
  signal?: AbortSignal;
  maxBodyBytes: number;
  /** Tests only: trust anchors other than Node's bundled ones. */
  tls?: Pick<ConnectionOptions, 'ca'>;
}

const MAX_HEADER_BYTES = 64 * 1024;
/** One read's worth: SSM and KMS answers fit in one or two. */
const READ_BUFFER_BYTES = 64 * 1024;
const DEFAULT_PORTS = { 'http:': 80, 'https:': 443 };

function timedOut(what: string): Error {
  return Object.assign(new Error(`${what} timed out`), { name: 'TimeoutError', code: 'ETIMEDOUT' });
}

function aborted(signal: AbortSignal): Error {
  const reason = signal.reason as { name?: string } | undefined;
  if (reason?.name === 'TimeoutError') return timedOut('request');
  return Object.assign(new Error('request aborted'), { name: 'AbortError' });
}

/** Request line and headers, as Latin-1 text. */
function requestHead(call: HttpCall, host: string, bodyLength: number): string {
  // Names compared without case, so a caller's Host (signed by SigV4) replaces ours rather than doubling it.
  const headers: Record<string, string> = { host };
  for (const [name, value] of Object.entries(call.headers)) headers[name.toLowerCase()] = value;
  Object.assign(headers, { 'content-length': String(bodyLength), connection: 'close' });
  const lines = [`${call.method} ${call.path} HTTP/1.1`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  // What Node's http accepts: a CR or LF would let a value smuggle in a header of its own. The message names
  // the header, never its value (x-amz-security-token is a credential).
  const bad = lines.findIndex((line) => /[^\t\x20-\x7e\x80-\xff]/.test(line));
  if (bad >= 0) {
    const what = bad === 0 ? 'the request line' : `header ${Object.keys(headers)[bad - 1]}`;
    throw new Error(`refusing to send ${what}: it has a character HTTP/1.1 does not allow`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** A view, not Buffer.from(bytes): that calls valueOf(), which the SDK's JSON body class turns into a string. */
function bodyBytes(body: HttpCall['body']): Buffer {
  if (body === undefined) return Buffer.alloc(0);
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/**
 * Sockets read into `onread`'s one buffer, which the caller zeroes when done: without it, every read gets a
 * fresh buffer of its own that holds the response (the passphrase) until the memory is reused (issue #10).
 */
type OnRead = { buffer: Buffer; callback: (bytes: number, buffer: Buffer) => boolean };

function openSocket(call: HttpCall, address: string, port: number, onread: OnRead): { socket: Socket; ready: string } {
  if (call.protocol === 'http:') return { socket: connectTcp({ host: address, port, onread }), ready: 'connect' };
  // SNI and certificate checks against the name asked for; Node's default trust store, as the SDK uses.
  // rejectUnauthorized is explicit (and last): its default comes from NODE_TLS_REJECT_UNAUTHORIZED (issue #10).
  const servername = isIP(address) === 0 ? address : undefined;
  // tls.connect hands onread to its socket as net.connect does (the https test proves it); @types/node omits it.
  const socket = connectTls({ host: address, port, ...(servername ? { servername } : {}), ...call.tls, onread, rejectUnauthorized: true } as ConnectionOptions);
  return { socket, ready: 'secureConnect' };
}

/** Where to connect, the Host header, and the request's bytes; throws before any connection is made. */
function prepare(call: HttpCall): { address: string; port: number; host: string; bytes: Buffer } {
  const address = call.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = call.port ?? DEFAULT_PORTS[call.protocol];
  const host = `${call.hostname}${port === DEFAULT_PORTS[call.protocol] ? '' : `:${port}`}`;
  const body = bodyBytes(call.body);
  // The body may carry the passphrase (PutParameter, KMS Encrypt): one buffer of our own, zeroed once settled.
  const head = Buffer.from(requestHead(call, host, body.length), 'latin1');
  const bytes = allocWipeable(head.length + body.length);
  head.copy(bytes, 0);
  bytes.set(body, head.length);
  return { address, port, host, bytes };
}

export function sendHttp(call: HttpCall): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    if (call.signal?.aborted) return reject(aborted(call.signal));
    const parser = createResponseParser({ maxHeaderBytes: MAX_HEADER_BYTES, maxBodyBytes: call.maxBodyBytes }, { headRequest: call.method === 'HEAD' });
    const readBuffer = allocWipeable(READ_BUFFER_BYTES);
    const onread: OnRead = {
      buffer: readBuffer,
      callback: (count) => {
        try {
          const reply = parser.push(readBuffer.subarray(0, count));
          if (reply) settle(undefined, reply);
        } catch (error) {
          settle(error);
        }
        return true;
      },
    };
    let request: ReturnType<typeof prepare>;
    let opened: ReturnType<typeof openSocket>;
    try {
      request = prepare(call);
      opened = openSocket(call, request.address, request.port, onread);
    } catch (error) {
      return reject(error);
    }
    const { host, bytes } = request;
    const { socket, ready } = opened;
    let settled = false;
    const settle = (error: unknown, reply?: HttpReply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(overallTimer);
      call.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      readBuffer.fill(0);
      request.bytes.fill(0);
      if (reply) return resolve(reply);
      parser.wipe();
      reject(error);
    };
    const onAbort = (): void => settle(aborted(call.signal as AbortSignal));
    const connectTimer = setTimeout(() => settle(timedOut(`connection to ${host}`)), Math.max(1, call.connectTimeoutMs));
    const overallTimer = setTimeout(() => settle(timedOut(`request to ${host}`)), Math.max(1, call.timeoutMs));
    call.signal?.addEventListener('abort', onAbort, { once: true });
    socket.setNoDelay(true);
    socket.once(ready, () => {
      clearTimeout(connectTimer);
      socket.write(bytes);
    });
    socket.once('end', () => {
      try {
        settle(undefined, parser.end());
      } catch (error) {
        settle(error);
      }
    });
    // on, not once: a late second 'error' with no listener would throw out of the process.
    socket.on('error', (error) => settle(error));
    socket.once('close', () => settle(hangUp()));
  });
}
