// Fuzz: the HTTP/1.1 response reader on generated and mutated responses, fed whole, split anywhere, a byte at a time.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createResponseParser, type HttpReply } from '../../src/aws/http1-response.ts';
import { mutateBytes, type MutationOp } from '../emulator/mutate.ts';
import { checkProperty, FUZZ_TARGET_TIMEOUT_MS } from './fuzz-settings.ts';

const LIMITS = { maxHeaderBytes: 2048, maxBodyBytes: 4096 };
/** Stands for the passphrase inside a body: no error may quote any 8 bytes of it. */
const CANARY = 'Pz7-canary-passphrase-Qx9';

interface Response {
  interim: boolean;
  status: number;
  headers: Array<[string, string]>;
  framing: 'length' | 'chunked' | 'close';
  chunks: Buffer[];
}

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,11}$/).filter((n) => !['content-length', 'transfer-encoding'].includes(n.toLowerCase()));
const response: fc.Arbitrary<Response> = fc.record({
  interim: fc.boolean(),
  status: fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 304),
  headers: fc.array(fc.tuple(token, fc.stringMatching(/^[ -~]{0,20}$/).map((v) => v.trim())), { maxLength: 4 }),
  framing: fc.constantFrom('length', 'chunked', 'close'),
  chunks: fc.array(fc.oneof(fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)), fc.constant(Buffer.from(CANARY))), { maxLength: 4 }),
});

function serialize(r: Response): Buffer {
  const body = Buffer.concat(r.chunks);
  const lines = [`HTTP/1.1 ${r.status} Reason`, ...r.headers.map(([n, v]) => `${n}: ${v}`)];
  if (r.framing === 'length') lines.push(`Content-Length: ${body.length}`);
  if (r.framing === 'chunked') lines.push('Transfer-Encoding: chunked');
  const head = Buffer.from(`${r.interim ? 'HTTP/1.1 100 Continue\r\n\r\n' : ''}${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  if (r.framing !== 'chunked') return Buffer.concat([head, body]);
  const parts = r.chunks.filter((c) => c.length > 0).flatMap((c) => [Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n')]);
  return Buffer.concat([head, ...parts, Buffer.from('0\r\n\r\n')]);
}

type Outcome = { reply: HttpReply } | { error: { code: unknown; message: string } };

/** Feeds `bytes` cut at `cuts` (positions), then the peer's close; what a caller would see. */
function feed(bytes: Buffer, cuts: number[]): Outcome {
  const parser = createResponseParser(LIMITS);
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  try {
    for (const to of [...points, bytes.length]) {
      const reply = parser.push(bytes.subarray(from, to));
      from = to;
      if (reply) return { reply };
    }
    return { reply: parser.end() };
  } catch (err) {
    return { error: { code: (err as { code?: unknown }).code, message: (err as Error).message } };
  }
}

function everyByte(bytes: Buffer): number[] {
  return Array.from({ length: bytes.length }, (_, i) => i);
}

const op: fc.Arbitrary<MutationOp> = fc.record({
  kind: fc.constantFrom('flip', 'insert', 'delete', 'cut'),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  byte: fc.integer({ min: 0, max: 255 }),
  count: fc.integer({ min: 1, max: 8 }),
});

describe('fuzz: HTTP/1.1 response reader', () => {
  it('reads what was sent however it is split; mutated bytes give one coded error that quotes nothing', async () => {
    await checkProperty('HTTP/1.1 response reader', fc.property(response, fc.array(op, { maxLength: 3 }), fc.array(fc.nat(), { maxLength: 6 }), (r, ops, cuts) => {
      const sent = serialize(r);
      const bytes = ops.length === 0 ? sent : mutateBytes(sent, ops);
      const whole = feed(bytes, []);
      // The same outcome whether the bytes come at once, cut at random places, or one by one.
      expect(feed(bytes, cuts)).toEqual(whole);
      expect(feed(bytes, everyByte(bytes))).toEqual(whole);
      if (ops.length === 0) {
        expect(whole).toEqual({ reply: expect.objectContaining({ statusCode: r.status, body: Buffer.concat(r.chunks) }) });
        return;
      }
      if ('error' in whole) {
        expect(['HPE_INVALID_RESPONSE', 'ECONNRESET']).toContain(whole.error.code);
        expect(whole.error.message).not.toMatch(/[\r\n]/);
        for (let i = 0; i + 8 <= CANARY.length; i += 1) expect(whole.error.message).not.toContain(CANARY.slice(i, i + 8));
      } else {
        expect(whole.reply.body.length).toBeLessThanOrEqual(LIMITS.maxBodyBytes);
      }
    }));
  }, FUZZ_TARGET_TIMEOUT_MS);
});
