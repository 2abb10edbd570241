// Puts the passphrase into a request body as bytes: the SDK serialises the command with a placeholder, and this
// build-step middleware swaps the placeholder for the secret before the request is signed and sent, then zeroes
// the body. The SDK itself never holds the secret as a string (issue #10: PutParameter's Value, KMS Encrypt's Plaintext).
import { allocWipeable } from './byte-store.ts';

/** Valid base64 (so it also serves a blob field the SDK base64-encodes) and nothing a real value looks like. */
export const BODY_PLACEHOLDER = 'LSSMPUT0';

interface BuildArgs {
  request: { body?: unknown };
}
type Next = (args: BuildArgs) => Promise<unknown>;

/** The part of an SDK command this needs; typed loosely so SSM and KMS commands both fit. */
export interface CommandWithStack {
  middlewareStack: { add(middleware: (next: Next) => Next, options: { step: 'build'; priority: 'high'; name: string }): void };
}

/** The serialised body as text: a string, or the SDK's JSON body object (a Uint8Array that also prints as its text). */
function textOf(body: unknown): string | undefined {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  return body === undefined || body === null ? undefined : String(body);
}

/**
 * Swaps `"LSSMPUT0"` in the serialised body for `"<content()>"`, where content() returns the JSON string's inside
 * (escaped text, or base64 for a blob) and is zeroed once copied. Runs first in the build step, so the
 * Content-Length and the SigV4 payload hash are computed over the real body.
 */
export function spliceSecretIntoBody(command: CommandWithStack, content: () => Buffer): void {
  const marker = `"${BODY_PLACEHOLDER}"`;
  command.middlewareStack.add((next) => async (args) => {
    const body = textOf(args.request.body);
    const at = body === undefined ? -1 : body.indexOf(marker);
    if (body === undefined || at < 0 || body.indexOf(marker, at + 1) >= 0) {
      throw new Error('luks-ssm: the request body does not hold exactly one secret placeholder');
    }
    const before = Buffer.from(body.slice(0, at + 1), 'utf8');
    const after = Buffer.from(body.slice(at + marker.length - 1), 'utf8');
    const secret = content();
    const bytes = allocWipeable(before.length + secret.length + after.length);
    before.copy(bytes, 0);
    secret.copy(bytes, before.length);
    after.copy(bytes, before.length + secret.length);
    secret.fill(0);
    args.request.body = bytes;
    try {
      return await next(args);
    } finally {
      bytes.fill(0);
    }
  }, { step: 'build', priority: 'high', name: 'luksSsmSecretSplice' });
}
