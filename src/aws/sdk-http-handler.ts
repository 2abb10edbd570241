// The SDK clients' request handler, sending through src/aws/http1.ts. The bundle also aliases
// @smithy/node-http-handler to this file (scripts/build/bundle.mjs), so node:http is never loaded.
import { sendHttp, type HttpReply } from './http1.ts';
import { liftCaptured } from './secret-capture.ts';

/** SSM and KMS answer in JSON of a few kB; GetParameterHistory pages stay far below this. */
export const SDK_RESPONSE_MAX_BYTES = 16 * 1024 * 1024;

/** The parts of the SDK's HttpRequest that are sent. */
export interface SdkHttpRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | Array<string | null> | null>;
  headers: Record<string, string>;
  body?: unknown;
}

export interface SdkHttpHandlerOptions {
  connectionTimeout: number;
  requestTimeout: number;
}

export interface SdkHttpHandler {
  metadata: { handlerProtocol: string };
  /** The SDK types abortSignal loosely (it also allows a legacy shape); ours always passes a real AbortSignal. */
  handle(request: SdkHttpRequest, options?: { abortSignal?: object; requestTimeout?: number }): Promise<{ response: HttpReply }>;
  updateHttpClientConfig(key: keyof SdkHttpHandlerOptions, value: number): void;
  httpHandlerConfigs(): SdkHttpHandlerOptions;
  destroy(): void;
}

/** RFC 3986 unreserved characters only, as SigV4 canonicalises the query. */
function escapeQuery(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function pathWithQuery(path: string, query: SdkHttpRequest['query']): string {
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(query ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) {
      pairs.push(item === null ? escapeQuery(key) : `${escapeQuery(key)}=${escapeQuery(item)}`);
    }
  }
  return pairs.length === 0 ? path : `${path}?${pairs.join('&')}`;
}

function bodyOf(body: unknown): string | Uint8Array | undefined {
  if (body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array) return body ?? undefined;
  throw new Error('luks-ssm sends only string or byte request bodies to AWS');
}

export function createSdkHttpHandler(options: SdkHttpHandlerOptions): SdkHttpHandler {
  const config = { ...options };
  return {
    metadata: { handlerProtocol: 'http/1.1' },
    async handle(request, { abortSignal, requestTimeout } = {}) {
      const protocol = request.protocol === 'http:' ? 'http:' : 'https:';
      const body = bodyOf(request.body);
      const reply = await sendHttp({
        protocol,
        hostname: request.hostname,
        ...(request.port === undefined ? {} : { port: request.port }),
        method: request.method,
        path: pathWithQuery(request.path, request.query),
        headers: request.headers,
        ...(body === undefined ? {} : { body }),
        connectTimeoutMs: config.connectionTimeout,
        timeoutMs: requestTimeout ?? config.requestTimeout,
        ...(abortSignal instanceof AbortSignal ? { signal: abortSignal } : {}),
        maxBodyBytes: SDK_RESPONSE_MAX_BYTES,
      });
      // The caller's secret fields leave the body here, before the SDK turns it into a string (src/aws/secret-capture.ts).
      // Only a success carries them; an error page need not even be JSON.
      if (reply.statusCode < 200 || reply.statusCode > 299) return { response: reply };
      return { response: { ...reply, body: liftCaptured(abortSignal, reply.body) } };
    },
    updateHttpClientConfig(key, value) {
      config[key] = value;
    },
    httpHandlerConfigs: () => ({ ...config }),
    destroy: () => undefined,
  };
}

/** @smithy/node-http-handler's names, for the bundle's alias: the clients get a handler instance from us. */
export const NodeHttpHandler = {
  create(handler: unknown): SdkHttpHandler {
    if (typeof (handler as SdkHttpHandler | undefined)?.handle !== 'function') {
      throw new Error('luks-ssm gives every AWS client its own request handler (src/aws/client-config.ts)');
    }
    return handler as SdkHttpHandler;
  },
};

/** Bodies arrive whole as a Buffer (the SDK reads a Uint8Array body directly); this only serves other shapes. */
export async function streamCollector(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}
