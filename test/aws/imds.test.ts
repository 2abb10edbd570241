// The IMDSv2 client against a tiny loopback server: token handshake, token reuse and refresh, timeouts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createImdsClient, imdsEndpointOf } from '../../src/aws/imds.ts';
import { classifyTransient } from '../../src/aws/transient.ts';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers['x-aws-ec2-metadata-token'] ?? ''}`.trim());
    handler(req, res);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen };
}

describe('createImdsClient', () => {
  it('PUTs for a token once, then GETs with it', async () => {
    const { url, seen } = await serve((req, res) => {
      if (req.method === 'PUT') return res.end('tok-1');
      res.end(req.url === '/latest/meta-data/placement/region' ? 'eu-west-1' : 'x');
    });
    const imds = createImdsClient(url);
    await expect(imds.get('/latest/meta-data/placement/region', { timeoutMs: 1000 })).resolves.toBe('eu-west-1');
    await expect(imds.get('/latest/meta-data/other', { timeoutMs: 1000 })).resolves.toBe('x');
    expect(seen).toEqual(['PUT /latest/api/token', 'GET /latest/meta-data/placement/region tok-1', 'GET /latest/meta-data/other tok-1']);
  });

  it('fetches a new token once when the old one is rejected (401)', async () => {
    let tokens = 0;
    const { url, seen } = await serve((req, res) => {
      if (req.method === 'PUT') return res.end(`tok-${++tokens}`);
      if (req.headers['x-aws-ec2-metadata-token'] === 'tok-1') {
        res.statusCode = 401;
        return res.end();
      }
      res.end('ok');
    });
    await expect(createImdsClient(url).get('/p', { timeoutMs: 1000 })).resolves.toBe('ok');
    expect(seen).toEqual(['PUT /latest/api/token', 'GET /p tok-1', 'PUT /latest/api/token', 'GET /p tok-2']);
  });

  it('reports HTTP errors with their status, 5xx as transient and 404 as final', async () => {
    const { url } = await serve((req, res) => {
      if (req.method === 'PUT') return res.end('t');
      res.statusCode = req.url === '/busy' ? 503 : 404;
      res.end();
    });
    const imds = createImdsClient(url);
    const busy = await imds.get('/busy', { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(classifyTransient(busy)).toEqual({ kind: 'server', detail: 'HTTP 503', imds: true });
    const missing = await imds.get('/missing', { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ statusCode: 404, imds: true });
    expect(classifyTransient(missing)).toBeUndefined();
  });

  it('gives up on a silent IMDS after the per-request timeout, as a transient timeout', async () => {
    const { url } = await serve(() => {});
    const started = Date.now();
    const err = await createImdsClient(url).get('/p', { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(classifyTransient(err)).toEqual({ kind: 'timeout', detail: 'ETIMEDOUT', imds: true });
  });

  it('doubles its own timeout after a timeout, so a slow IMDS is eventually waited for', async () => {
    const { url } = await serve((req, res) => {
      setTimeout(() => res.end(req.method === 'PUT' ? 't' : 'ok'), 1300).unref();
    });
    const imds = createImdsClient(url);
    const first = await imds.get('/p').catch((e: unknown) => e);
    expect(classifyTransient(first)).toMatchObject({ kind: 'timeout' });
    await expect(imds.get('/p')).resolves.toBe('ok');
  });

  it('a refused connection is a transient network error', async () => {
    const { url } = await serve(() => {});
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    const err = await createImdsClient(url).get('/p', { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(classifyTransient(err)).toEqual({ kind: 'network', detail: 'ECONNREFUSED', imds: true });
  });
});

describe('imdsEndpointOf', () => {
  it('config, then AWS_EC2_METADATA_SERVICE_ENDPOINT, then the IPv6 mode, then the default', () => {
    expect(imdsEndpointOf('http://127.0.0.1:9', { AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:8' })).toBe('http://127.0.0.1:9');
    expect(imdsEndpointOf(undefined, { AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:8' })).toBe('http://127.0.0.1:8');
    expect(imdsEndpointOf(undefined, { AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: 'IPv6' })).toBe('http://[fd00:ec2::254]');
    expect(imdsEndpointOf(undefined, {})).toBe('http://169.254.169.254');
  });

  it('refuses an AWS_EC2_METADATA_SERVICE_ENDPOINT that is plain http to another host (issue #10, item 6)', () => {
    expect(() => imdsEndpointOf(undefined, { AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://10.9.9.9' })).toThrow(
      'AWS_EC2_METADATA_SERVICE_ENDPOINT=http://10.9.9.9 in the environment uses http:// to a host that is neither loopback nor instance metadata (169.254.169.254, fd00:ec2::254): use https://, refusing.');
    expect(imdsEndpointOf(undefined, { AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://169.254.169.254/' })).toBe('http://169.254.169.254/');
  });
});
