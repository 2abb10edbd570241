// Hands the secret fields of one AWS answer (SSM Value, KMS Plaintext) from the request handler to the caller as
// bytes, keyed by the attempt's AbortSignal: the SDK carries that signal to the handler untouched (issue #10).
import { JsonShapeError, liftJsonStrings } from './json-strings.ts';

export interface SecretCapture {
  /**
   * The value a placeholder in the SDK's output stands for; the caller owns (and wipes) it from then on.
   * Undefined when the output field held no captured string.
   */
  take(placeholder: unknown): Buffer | undefined;
  /** Every captured value in body order (a KMS answer has one Plaintext); the caller owns them. */
  takeAll(): Buffer[];
  /** Zeroes what nobody took: call in finally. */
  wipe(): void;
}

interface Pending {
  field: string;
  values: Array<Buffer | undefined>;
}

const pending = new WeakMap<AbortSignal, Pending>();

/** Placeholders are valid base64 (the SDK decodes a KMS Plaintext before we look) and can't be a real value. */
const placeholderOf = (index: number): string => `LSSM${String(index).padStart(8, '0')}`;
const PLACEHOLDER = /^LSSM(\d{8})$/;

/** Asks the handler to lift `field` out of the answer to the request sent with `signal`. */
export function captureField(signal: AbortSignal, field: string): SecretCapture {
  const state: Pending = { field, values: [] };
  pending.set(signal, state);
  const takeAt = (index: number): Buffer | undefined => {
    const value = state.values[index];
    state.values[index] = undefined;
    return value;
  };
  return {
    take(placeholder) {
      const match = typeof placeholder === 'string' ? PLACEHOLDER.exec(placeholder) : null;
      return match ? takeAt(Number(match[1])) : undefined;
    },
    takeAll: () => state.values.map((_, i) => takeAt(i)).filter((v): v is Buffer => v !== undefined),
    wipe() {
      pending.delete(signal);
      for (const value of state.values) value?.fill(0);
      state.values = [];
    },
  };
}

/** What the SDK gets instead of a body that can't be scanned: its JSON parser refuses it as it would the original. */
const UNPARSABLE = '{';

/**
 * For the request handler: when the caller asked, the body with its secret strings lifted out (the original
 * zeroed); otherwise the body as it is. A body that does not scan goes on as one the SDK's parser refuses, so
 * it fails as any malformed answer does (src/aws/transient.ts), with none of its bytes left to quote.
 */
export function liftCaptured(signal: unknown, body: Buffer): Buffer {
  const state = signal instanceof AbortSignal ? pending.get(signal) : undefined;
  if (state === undefined) return body;
  try {
    const lifted = liftJsonStrings(body, state.field, placeholderOf);
    state.values.push(...lifted.values);
    return lifted.body;
  } catch (error) {
    if (!(error instanceof JsonShapeError)) throw error;
    return Buffer.from(UNPARSABLE);
  } finally {
    body.fill(0);
  }
}

/** Sends one attempt with `field` captured; a failed attempt leaves nothing behind. For callWithRetry's attempt function. */
export async function sendCapturing<T>(abortSignal: AbortSignal, field: string, send: (abortSignal: AbortSignal) => Promise<T>): Promise<{ out: T; capture: SecretCapture }> {
  const capture = captureField(abortSignal, field);
  try {
    return { out: await send(abortSignal), capture };
  } catch (error) {
    capture.wipe();
    throw error;
  }
}
