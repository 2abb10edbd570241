// sendHttp against real servers on 127.0.0.1: what goes on the wire, TLS verification, and every way a call ends.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sendHttp, type HttpCall } from '../../src/aws/http1.ts';

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;
const servers: Array<Server | TcpServer> = [];
const sockets = new Set<Socket>();

async function listen<T extends Server | TcpServer>(server: T): Promise<number> {
  servers.push(server);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function serveHttp(handler: Handler): Promise<number> {
  return listen(createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks), res));
  }));
}

function call(port: number, over: Partial<HttpCall> = {}): HttpCall {
  return {
    protocol: 'http:', hostname: '127.0.0.1', port, method: 'POST', path: '/', headers: {},
    connectTimeoutMs: 2_000, timeoutMs: 5_000, maxBodyBytes: 1024 * 1024, ...over,
  };
}

async function failureOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  return promise.then(() => { throw new Error('expected the call to fail'); }, (error: Error & { code?: string }) => error);
}

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('sendHttp over TCP', () => {
  it('sends method, path, Host, headers and the exact body bytes, and returns the reply', async () => {
    let seen: { method?: string; url?: string; headers?: IncomingMessage['headers']; body?: Buffer } = {};
    const port = await serveHttp((req, body, res) => {
      seen = { method: req.method, url: req.url, headers: req.headers, body };
      res.writeHead(201, 'Made', { 'x-amzn-requestid': 'r-1', 'content-type': 'application/json' }).end('{"ok":true}');
    });
    const body = new Uint8Array([0x7b, 0x00, 0xff, 0x0a, 0x7d]);
    const reply = await sendHttp(call(port, { path: '/a/b?x=1', headers: { 'x-amz-target': 'AmazonSSM.GetParameter' }, body }));
    expect(seen).toMatchObject({ method: 'POST', url: '/a/b?x=1', body: Buffer.from(body) });
    expect(seen.headers).toMatchObject({ host: `127.0.0.1:${port}`, 'x-amz-target': 'AmazonSSM.GetParameter', 'content-length': '5', connection: 'close' });
    expect(reply).toMatchObject({ statusCode: 201, reason: 'Made', body: Buffer.from('{"ok":true}') });
    expect(reply.headers['x-amzn-requestid']).toBe('r-1');
  });

  it('assembles a chunked reply written in pieces', async () => {
    const port = await serveHttp((_req, _body, res) => {
      res.writeHead(200);
      res.write('{"Parameter":');
      setTimeout(() => res.end('{"Value":"v"}}'), 20);
    });
    expect((await sendHttp(call(port))).body.toString()).toBe('{"Parameter":{"Value":"v"}}');
  });

  it('keeps a Host header the SDK signed, and sends each header once whatever its case', async () => {
    let raw: string[] = [];
    const port = await serveHttp((req, _body, res) => { raw = req.rawHeaders; res.end(); });
    await sendHttp(call(port, { headers: { Host: 'ssm.eu-west-1.amazonaws.com', 'Content-Length': '99', 'X-Amz-Date': 'd' }, body: 'ab' }));
    const names = raw.filter((_, i) => i % 2 === 0);
    expect(names.sort()).toEqual(['connection', 'content-length', 'host', 'x-amz-date']);
    expect(raw[raw.indexOf('host') + 1]).toBe('ssm.eu-west-1.amazonaws.com');
    expect(raw[raw.indexOf('content-length') + 1]).toBe('2');
  });

  it('refuses a header with a line break or a non-Latin-1 character before connecting', async () => {
    let connections = 0;
    const port = await listen(createTcpServer(() => { connections += 1; }));
    const error = await failureOf(sendHttp(call(port, { headers: { 'x-a': 'b\r\nx-evil: 1' } })));
    expect(error.message).toBe('refusing to send header x-a: it has a character HTTP/1.1 does not allow');
    const wide = await failureOf(sendHttp(call(port, { headers: { 'x-a': 'caf\u0101' } })));
    expect(wide.message).toBe('refusing to send header x-a: it has a character HTTP/1.1 does not allow');
    expect(wide.message).not.toContain('caf');
    expect(connections).toBe(0);
  });

  it('reports a refused connection with its code', async () => {
    const port = await listen(createTcpServer());
    await new Promise((resolve) => (servers.pop() as TcpServer).close(resolve));
    expect((await failureOf(sendHttp(call(port)))).code).toBe('ECONNREFUSED');
  });

  it('times out a server that never answers, within the timeout', async () => {
    const port = await listen(createTcpServer(() => undefined));
    const started = Date.now();
    const error = await failureOf(sendHttp(call(port, { timeoutMs: 300 })));
    expect([error.name, error.code, error.message]).toEqual(['TimeoutError', 'ETIMEDOUT', `request to 127.0.0.1:${port} timed out`]);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('calls a connection dropped mid-reply a hang-up', async () => {
    const port = await listen(createTcpServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\ncut'));
    }));
    expect(await failureOf(sendHttp(call(port)))).toMatchObject({ code: 'ECONNRESET', message: 'socket hang up' });
  });

  it('stops on abort, and does not start when already aborted', async () => {
    const port = await listen(createTcpServer(() => undefined));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    expect((await failureOf(sendHttp(call(port, { signal: controller.signal })))).name).toBe('AbortError');
    expect((await failureOf(sendHttp(call(port, { signal: AbortSignal.abort() })))).name).toBe('AbortError');
  });

  it('refuses a reply larger than its limit', async () => {
    const port = await serveHttp((_req, _body, res) => res.end('x'.repeat(2048)));
    expect((await failureOf(sendHttp(call(port, { maxBodyBytes: 1024 })))).message).toBe('malformed HTTP response: body larger than 1024 bytes');
  });
});

describe('sendHttp over TLS', () => {
  let dir: string;
  let cert: string;
  let key: string;

  beforeAll(() => {
    // A self-signed certificate for the IP address only: trusted when given as a CA, wrong for any host name.
    dir = mkdtempSync(join(tmpdir(), 'luks-ssm-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    key = readFileSync(join(dir, 'key.pem'), 'utf8');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const serveHttps = (): Promise<number> => listen(createHttpsServer({ cert, key }, (_req, res) => res.end('secret-free')));

  it('talks to a server whose certificate it trusts', async () => {
    const port = await serveHttps();
    const reply = await sendHttp(call(port, { protocol: 'https:', tls: { ca: cert } }));
    expect([reply.statusCode, reply.body.toString()]).toEqual([200, 'secret-free']);
  });

  it('refuses a certificate it does not trust (Node\'s bundled roots by default)', async () => {
    const port = await serveHttps();
    expect((await failureOf(sendHttp(call(port, { protocol: 'https:' })))).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it('verifies the certificate even when NODE_TLS_REJECT_UNAUTHORIZED=0 is in the environment', async () => {
    const port = await serveHttps();
    const before = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    try {
      expect((await failureOf(sendHttp(call(port, { protocol: 'https:' })))).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    } finally {
      if (before === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = before;
    }
  });

  it('refuses a trusted certificate issued for another name', async () => {
    const port = await serveHttps();
    const error = await failureOf(sendHttp(call(port, { protocol: 'https:', hostname: 'localhost', tls: { ca: cert } })));
    expect(error.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('times out a handshake that never completes, on the connection timeout', async () => {
    const port = await listen(createTcpServer(() => undefined));
    const error = await failureOf(sendHttp(call(port, { protocol: 'https:', connectTimeoutMs: 200, timeoutMs: 5_000 })));
    expect([error.code, error.message]).toEqual(['ETIMEDOUT', `connection to 127.0.0.1:${port} timed out`]);
  });
});
