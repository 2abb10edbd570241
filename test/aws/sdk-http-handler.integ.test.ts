// The SDK-facing handler: an SDK HttpRequest goes out as sent by sendHttp, and the reply comes back in the SDK's shape.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSdkHttpHandler, NodeHttpHandler, pathWithQuery } from '../../src/aws/sdk-http-handler.ts';

const OPTIONS = { connectionTimeout: 2_000, requestTimeout: 5_000 };
let close: (() => Promise<void>) | undefined;

afterEach(async () => {
  await close?.();
  close = undefined;
});

async function serve(answer: (req: IncomingMessage, body: string) => string): Promise<number> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => res.writeHead(200, { 'x-amzn-requestid': 'r-9' }).end(answer(req, body)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  close = () => new Promise((resolve) => server.close(() => resolve()));
  return (server.address() as AddressInfo).port;
}

describe('pathWithQuery', () => {
  it('encodes keys and values as SigV4 canonicalises them, repeats arrays and keeps bare keys', () => {
    expect(pathWithQuery('/', undefined)).toBe('/');
    expect(pathWithQuery('/p', { a: 'x y', "b!'()*": 'c/d', list: ['1', '2'], flag: null })).toBe("/p?a=x%20y&b%21%27%28%29%2A=c%2Fd&list=1&list=2&flag");
  });
});

describe('createSdkHttpHandler', () => {
  it('sends the SDK request (JSON bytes body, query, headers) and returns status, headers and body', async () => {
    const port = await serve((req, body) => JSON.stringify({ url: req.url, target: req.headers['x-amz-target'], body }));
    const handler = createSdkHttpHandler(OPTIONS);
    const { response } = await handler.handle({
      method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port, path: '/', query: { q: '1' },
      headers: { 'x-amz-target': 'AmazonSSM.GetParameter' }, body: new TextEncoder().encode('{"Name":"/p"}'),
    }, { abortSignal: new AbortController().signal });
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-amzn-requestid']).toBe('r-9');
    expect(JSON.parse(response.body.toString())).toEqual({ url: '/?q=1', target: 'AmazonSSM.GetParameter', body: '{"Name":"/p"}' });
  });

  it('refuses a streaming body rather than sending something else', async () => {
    const handler = createSdkHttpHandler(OPTIONS);
    const request = { method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: 9, path: '/', headers: {}, body: { pipe() {} } };
    await expect(handler.handle(request)).rejects.toThrow('luks-ssm sends only string or byte request bodies to AWS');
  });

  it('reports and updates its timeouts as the SDK asks', () => {
    const handler = createSdkHttpHandler(OPTIONS);
    handler.updateHttpClientConfig('requestTimeout', 7_000);
    expect(handler.httpHandlerConfigs()).toEqual({ connectionTimeout: 2_000, requestTimeout: 7_000 });
  });
});

describe('NodeHttpHandler (the bundle alias of @smithy/node-http-handler)', () => {
  it('hands back the handler it is given, and refuses to make one of its own', () => {
    const handler = createSdkHttpHandler(OPTIONS);
    expect(NodeHttpHandler.create(handler)).toBe(handler);
    expect(() => NodeHttpHandler.create(undefined)).toThrow('luks-ssm gives every AWS client its own request handler');
  });
});
