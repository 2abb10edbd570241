// The HTTP/1.1 response reader: every framing AWS or a middlebox may use, fed whole and a byte at a time.
import { describe, expect, it } from 'vitest';
import { createResponseParser, type HttpReply } from '../../src/aws/http1-response.ts';

const LIMITS = { maxHeaderBytes: 1024, maxBodyBytes: 4096 };

/** Feeds `raw` in pieces of `size` bytes; ends the stream when `close` (a peer closing after the bytes). */
function parse(raw: string | Buffer, size = Infinity, opts: { close?: boolean; headRequest?: boolean } = {}): HttpReply | undefined {
  const parser = createResponseParser(LIMITS, { headRequest: opts.headRequest ?? false });
  const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'latin1');
  for (let at = 0; at < bytes.length; at += Math.min(size, bytes.length)) {
    const reply = parser.push(bytes.subarray(at, at + Math.min(size, bytes.length)));
    if (reply) return reply;
  }
  return opts.close ? parser.end() : undefined;
}

function errorOf(run: () => unknown): { code?: string; message: string } {
  try {
    run();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected an error');
}

const SIMPLE = 'HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 11\r\n\r\n{"a":"b c"}';

describe('createResponseParser', () => {
  it('reads status, headers (lower-cased) and a Content-Length body, whole or a byte at a time', () => {
    const expected = { statusCode: 200, reason: 'OK', headers: { 'content-type': 'application/x-amz-json-1.1', 'content-length': '11' }, body: Buffer.from('{"a":"b c"}') };
    expect(parse(SIMPLE)).toEqual(expected);
    expect(parse(SIMPLE, 1)).toEqual(expected);
    expect(parse(SIMPLE, 7)).toEqual(expected);
  });

  it('decodes a chunked body with extensions and trailers, split anywhere', () => {
    const raw = 'HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1A\r\n, and twenty-six more b!\r\n\r\n0\r\nX-Trailer: t\r\n\r\n';
    for (const size of [Infinity, 1, 3]) {
      const reply = parse(raw, size);
      expect(reply?.statusCode).toBe(400);
      expect(reply?.body.toString()).toBe('hello, and twenty-six more b!\r\n');
    }
  });

  it('keeps bytes exactly, including CR, LF and non-UTF-8 in the body', () => {
    const body = Buffer.from([0x0d, 0x0a, 0x00, 0xff, 0x80, 0x0a]);
    const raw = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n'), body]);
    expect(parse(raw, 1)?.body).toEqual(body);
  });

  it('reads a body without length or chunking up to the close, and no further', () => {
    expect(parse('HTTP/1.0 200 OK\r\n\r\nuntil close', 4)).toBeUndefined();
    expect(parse('HTTP/1.0 200 OK\r\n\r\nuntil close', 4, { close: true })?.body.toString()).toBe('until close');
  });

  it('skips interim 1xx responses and reads no body for 204, 304 or HEAD', () => {
    expect(parse('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 5)?.body.toString()).toBe('ok');
    expect(parse('HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n')).toMatchObject({ statusCode: 204, body: Buffer.alloc(0) });
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n', Infinity, { headRequest: true })?.body).toEqual(Buffer.alloc(0));
  });

  it('joins repeated headers and keeps an empty reason', () => {
    const reply = parse('HTTP/1.1 503\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 0\r\n\r\n');
    expect(reply).toMatchObject({ statusCode: 503, reason: '', headers: { 'x-a': '1, 2' } });
  });

  it('prefers chunked over a Content-Length that comes with it (RFC 9112)', () => {
    const raw = 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n';
    expect(parse(raw)?.body.toString()).toBe('abc');
  });

  it('calls a response cut short a hang-up', () => {
    for (const raw of ['HTTP/1.1 200 OK\r\nContent-Len', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab', '']) {
      expect(errorOf(() => parse(raw, Infinity, { close: true }))).toMatchObject({ code: 'ECONNRESET', message: 'socket hang up' });
    }
  });

  it('refuses what does not parse, naming the fault', () => {
    const cases: Array<[string, string]> = [
      ['SSH-2.0-OpenSSH\r\n\r\n', 'bad status line'],
      ['HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', 'bad header line'],
      ['HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n', 'bad header line'],
      ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'bad Content-Length'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', 'unsupported Transfer-Encoding'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'bad chunk size'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n', 'chunk data longer than its size'],
    ];
    for (const [raw, fault] of cases) {
      expect(errorOf(() => parse(raw, 1)), raw).toMatchObject({ code: 'HPE_INVALID_RESPONSE', message: `malformed HTTP response: ${fault}` });
    }
  });

  it('never quotes the response in an error: out of step, it could be quoting the passphrase', () => {
    const secret = 'correct horse battery staple';
    const raw = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{"Value":"${secret}"}\r\n`;
    const error = errorOf(() => parse(raw, 3));
    expect(error.code).toBe('HPE_INVALID_RESPONSE');
    expect(error.message).not.toContain('horse');
  });

  it('bounds the head and the body', () => {
    const longHead = `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(2000)}\r\n\r\n`;
    expect(errorOf(() => parse(longHead, 100)).message).toBe('malformed HTTP response: headers larger than 1024 bytes');
    expect(errorOf(() => parse(`HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n${'b'.repeat(5000)}`, 512)).message).toBe('malformed HTTP response: body larger than 4096 bytes');
    expect(errorOf(() => parse(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n${'c'.repeat(5000)}`)).message).toBe('malformed HTTP response: body larger than 4096 bytes');
  });

  it('bounds the whole response: endless interim 1xx heads or trailer lines end in an error, not a growing buffer (review 9)', () => {
    const continues = 'HTTP/1.1 100 Continue\r\n\r\n'.repeat(2000);
    expect(errorOf(() => parse(continues, 64)).message).toBe('malformed HTTP response: response larger than 10240 bytes');
    const trailers = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n${'X: y\r\n'.repeat(5000)}`;
    expect(errorOf(() => parse(trailers, 64)).message).toBe('malformed HTTP response: response larger than 10240 bytes');
    // A few interim heads and trailers still parse.
    const fine = `${'HTTP/1.1 100 Continue\r\n\r\n'.repeat(3)}HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX: y\r\n\r\n`;
    expect(parse(fine, 7)?.body.toString()).toBe('a');
  });
});
