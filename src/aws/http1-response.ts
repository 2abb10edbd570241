// Reads one HTTP/1.1 response from the bytes a socket delivers: status, headers, and a body framed by
// Content-Length, chunked encoding or the connection's close. Pure: src/aws/http1.ts feeds it the socket.
// The body may hold the passphrase: the parser copies bytes only into stores it zeroes (issue #10).
import { createByteStore, type ByteStore } from './byte-store.ts';

export interface HttpReply {
  statusCode: number;
  reason: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

export interface ResponseLimits {
  maxHeaderBytes: number;
  maxBodyBytes: number;
}

export interface ResponseParser {
  /**
   * Feeds bytes (copied: the caller may reuse `chunk`); returns the reply once it is complete (bytes after it are
   * ignored: we send Connection: close). The reply's body is the parser's memory, zeroed by wipe().
   */
  push(chunk: Buffer): HttpReply | undefined;
  /** The peer closed: a close-delimited body ends here; anything else cut short is a hang-up. */
  end(): HttpReply;
  /** Zeroes every byte received, the reply's body included (an abandoned or finished exchange). */
  wipe(): void;
}

/**
 * A response that does not parse: the code says what, like Node's own HTTP parser errors do. The message never
 * quotes the response: out of step with its framing, the reader could be looking at the passphrase.
 */
export function framingError(message: string): Error {
  return Object.assign(new Error(`malformed HTTP response: ${message}`), { code: 'HPE_INVALID_RESPONSE' });
}

/** The peer went away before a whole response: what Node's http calls it, so callers retry it as a network error. */
export function hangUp(): Error {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/;

type Framing = { kind: 'length'; remaining: number } | { kind: 'chunked'; state: 'size' | 'data' | 'data-end' | 'trailers'; remaining: number } | { kind: 'close' };

interface Head {
  statusCode: number;
  reason: string;
  headers: Record<string, string>;
}

function parseHead(text: string): Head {
  const [statusLine = '', ...lines] = text.split('\r\n');
  const status = STATUS_LINE.exec(statusLine);
  if (!status) throw framingError('bad status line');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0 || /\s/.test(line.slice(0, colon))) throw framingError('bad header line');
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { statusCode: Number(status[1]), reason: status[2] ?? '', headers };
}

/** RFC 9112 §6: chunked wins over Content-Length; a response to HEAD, 1xx, 204 and 304 has no body. */
function framingOf(head: Head, noBody: boolean): Framing {
  if (noBody || head.statusCode === 204 || head.statusCode === 304) return { kind: 'length', remaining: 0 };
  const coding = head.headers['transfer-encoding'];
  if (coding !== undefined) {
    if (coding.toLowerCase().split(',').map((c) => c.trim()).at(-1) !== 'chunked') throw framingError('unsupported Transfer-Encoding');
    return { kind: 'chunked', state: 'size', remaining: 0 };
  }
  const length = head.headers['content-length'];
  if (length === undefined) return { kind: 'close' };
  if (!/^\d{1,15}$/.test(length)) throw framingError('bad Content-Length');
  return { kind: 'length', remaining: Number(length) };
}

export function createResponseParser(limits: ResponseLimits, options: { headRequest?: boolean } = {}): ResponseParser {
  // Every byte read is copied in here (the socket's read buffer is reused), and zeroed once the reply is whole.
  const received = createByteStore(16 * 1024);
  // All of a response together: the head and the body, with as much again for framing (chunk lines, interim 1xx heads,
  // trailers). Each of those is bounded line by line too, but not their number: endless `100 Continue` heads or
  // trailer lines from a metadata or loopback answerer grew this store until the request timed out (review 9).
  const maxResponseBytes = 2 * (limits.maxHeaderBytes + limits.maxBodyBytes);
  let at = 0;
  let head: Head | undefined;
  let framing: Framing | undefined;
  let body: ByteStore | undefined;
  let done: HttpReply | undefined;

  const available = (): number => received.length - at;
  /** Moves up to `count` bytes from what was received into the body. */
  const take = (count: number): number => {
    const n = Math.min(count, available());
    const store = body as ByteStore;
    if (store.length + n > limits.maxBodyBytes) throw framingError(`body larger than ${limits.maxBodyBytes} bytes`);
    store.append(received.view(at, at + n));
    at += n;
    return n;
  };
  const finish = (): HttpReply => {
    done = { ...(head as Head), body: (body as ByteStore).view() };
    received.wipe();
    at = 0;
    return done;
  };

  /** Reads the head, skipping interim 1xx responses; false when more bytes are needed. */
  const readHead = (): boolean => {
    while (head === undefined) {
      const end = received.view(at).indexOf(HEAD_END);
      if (end < 0) {
        if (available() > limits.maxHeaderBytes) throw framingError(`headers larger than ${limits.maxHeaderBytes} bytes`);
        return false;
      }
      const parsed = parseHead(received.view(at, at + end).toString('latin1'));
      at += end + HEAD_END.length;
      if (parsed.statusCode >= 200) {
        head = parsed;
        framing = framingOf(parsed, options.headRequest === true);
        // A known length is allocated once: growing would copy the body.
        const expected = framing.kind === 'length' ? framing.remaining : 0;
        if (expected > limits.maxBodyBytes) throw framingError(`body larger than ${limits.maxBodyBytes} bytes`);
        body = createByteStore(expected > 0 ? expected : 4096);
      }
    }
    return true;
  };

  /** One step of chunked decoding; false when more bytes are needed. */
  const readChunked = (chunked: Extract<Framing, { kind: 'chunked' }>): boolean => {
    if (chunked.state === 'data') {
      chunked.remaining -= take(chunked.remaining);
      if (chunked.remaining > 0) return false;
      chunked.state = 'data-end';
      return true;
    }
    const eol = received.view(at).indexOf(CRLF);
    if (eol < 0) {
      if (available() > limits.maxHeaderBytes) throw framingError('chunk line too long');
      return false;
    }
    const line = received.view(at, at + eol).toString('latin1');
    at += eol + CRLF.length;
    if (chunked.state === 'data-end') {
      if (line !== '') throw framingError('chunk data longer than its size');
      chunked.state = 'size';
    } else if (chunked.state === 'size') {
      const size = /^([0-9a-fA-F]{1,8})(?:;.*)?$/.exec(line);
      if (!size) throw framingError('bad chunk size');
      chunked.remaining = parseInt(size[1] as string, 16);
      chunked.state = chunked.remaining === 0 ? 'trailers' : 'data';
    } else if (line === '') {
      finish();
    }
    return true;
  };

  const advance = (): HttpReply | undefined => {
    if (!readHead()) return undefined;
    const framed = framing as Framing;
    if (framed.kind === 'length') {
      framed.remaining -= take(framed.remaining);
      return framed.remaining === 0 ? finish() : undefined;
    }
    if (framed.kind === 'close') {
      take(available());
      return undefined;
    }
    while (done === undefined && readChunked(framed));
    return done;
  };

  const wipeAll = (): void => {
    received.wipe();
    body?.wipe();
  };

  return {
    push(chunk) {
      if (done !== undefined) return done;
      try {
        if (received.length + chunk.length > maxResponseBytes) throw framingError(`response larger than ${maxResponseBytes} bytes`);
        received.append(chunk);
        return advance();
      } catch (error) {
        wipeAll();
        throw error;
      }
    },
    end() {
      if (done !== undefined) return done;
      if (head !== undefined && framing?.kind === 'close') return finish();
      wipeAll();
      throw hangUp();
    },
    wipe: wipeAll,
  };
}
