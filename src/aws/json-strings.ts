// Lifts the string values of one JSON field out of a response body as bytes, leaving placeholders: the SDK's
// deserialiser then never sees the passphrase, so it never becomes a JS string that nobody can wipe (issue #10).
import { allocWipeable } from './byte-store.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const SIMPLE_ESCAPES: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09 };

export interface LiftedStrings {
  /** The body with each lifted value replaced by placeholder(i): nothing secret left in it. */
  body: Buffer;
  /** The values' UTF-8 bytes (escapes decoded), in the order they appear; zero them when done. */
  values: Buffer[];
}

/** Raised for a body that is not well-formed where it matters: never quotes it. */
export class JsonShapeError extends Error {
  constructor() {
    super('the response body is not well-formed JSON');
    this.name = 'JsonShapeError';
  }
}

const isSpace = (b: number | undefined): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/** Index of the closing quote of the string opening at `open`. */
function closingQuote(json: Uint8Array, open: number): number {
  for (let i = open + 1; i < json.length; i += 1) {
    if (json[i] === BACKSLASH) i += 1;
    else if (json[i] === QUOTE) return i;
  }
  throw new JsonShapeError();
}

function skipSpace(json: Uint8Array, from: number): number {
  let i = from;
  while (isSpace(json[i])) i += 1;
  return i;
}

function sameBytes(json: Uint8Array, start: number, end: number, name: Buffer): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i += 1) if (json[start + i] !== name[i]) return false;
  return true;
}

function hex4(json: Uint8Array, at: number): number {
  if (at + 4 > json.length) throw new JsonShapeError();
  let value = 0;
  for (let i = at; i < at + 4; i += 1) {
    const c = json[i] as number;
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (digit < 0) throw new JsonShapeError();
    value = value * 16 + digit;
  }
  return value;
}

function putUtf8(out: Buffer, at: number, code: number): number {
  if (code < 0x80) {
    out[at] = code;
    return at + 1;
  }
  if (code < 0x800) {
    out[at] = 0xc0 | (code >> 6);
    out[at + 1] = 0x80 | (code & 0x3f);
    return at + 2;
  }
  if (code < 0x10000) {
    out[at] = 0xe0 | (code >> 12);
    out[at + 1] = 0x80 | ((code >> 6) & 0x3f);
    out[at + 2] = 0x80 | (code & 0x3f);
    return at + 3;
  }
  out[at] = 0xf0 | (code >> 18);
  out[at + 1] = 0x80 | ((code >> 12) & 0x3f);
  out[at + 2] = 0x80 | ((code >> 6) & 0x3f);
  out[at + 3] = 0x80 | (code & 0x3f);
  return at + 4;
}

/**
 * The bytes JSON.parse then Buffer.from(value, 'utf8') would give, without the string: escapes decoded, a lone
 * surrogate as U+FFFD. Never longer than the escaped text, so one allocation of that size suffices.
 */
function decodeString(json: Uint8Array, start: number, end: number): Buffer {
  const out = allocWipeable(Math.max(1, end - start));
  let n = 0;
  for (let i = start; i < end; ) {
    const c = json[i] as number;
    if (c !== BACKSLASH) {
      out[n++] = c;
      i += 1;
      continue;
    }
    const e = json[i + 1] as number;
    if (e !== 0x75) {
      const simple = SIMPLE_ESCAPES[e];
      if (simple === undefined) {
        out.fill(0);
        throw new JsonShapeError();
      }
      out[n++] = simple;
      i += 2;
      continue;
    }
    let code = hex4(json, i + 2);
    i += 6;
    if (code >= 0xd800 && code <= 0xdbff && json[i] === BACKSLASH && json[i + 1] === 0x75) {
      const low = hex4(json, i + 2);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i += 6;
      }
    }
    if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd;
    n = putUtf8(out, n, code);
  }
  return out.subarray(0, n);
}

/** Whether the key string json[from, to) is `name`, also when written with escapes ("V\u0061lue": review 13). */
function isKey(json: Uint8Array, from: number, to: number, name: Buffer): boolean {
  if (sameBytes(json, from, to, name)) return true;
  if (!json.subarray(from, to).includes(BACKSLASH)) return false;
  const decoded = decodeString(json, from, to);
  return decoded.equals(name);
}

/**
 * Every string value of a `field` key (as JSON.parse would name it, escapes decoded), at any depth. Strings are skipped whole (escapes included), so text inside
 * another value never passes for a key. Other JSON errors are left to the SDK's parser, which sees no secret.
 */
export function liftJsonStrings(json: Uint8Array, field: string, placeholder: (index: number) => string): LiftedStrings {
  const name = Buffer.from(field, 'utf8');
  const values: Buffer[] = [];
  const pieces: Buffer[] = [];
  let copied = 0;
  try {
    for (let i = 0; i < json.length; ) {
      if (json[i] !== QUOTE) {
        i += 1;
        continue;
      }
      const end = closingQuote(json, i);
      const colon = skipSpace(json, end + 1);
      const valueAt = skipSpace(json, colon + 1);
      if (json[colon] !== COLON || json[valueAt] !== QUOTE || !isKey(json, i + 1, end, name)) {
        i = end + 1;
        continue;
      }
      const valueEnd = closingQuote(json, valueAt);
      values.push(decodeString(json, valueAt + 1, valueEnd));
      pieces.push(Buffer.from(json.subarray(copied, valueAt + 1)), Buffer.from(placeholder(values.length - 1), 'utf8'));
      copied = valueEnd;
      i = valueEnd + 1;
    }
  } catch (error) {
    for (const value of values) value.fill(0);
    throw error;
  }
  pieces.push(Buffer.from(json.subarray(copied)));
  return { body: Buffer.concat(pieces), values };
}

/**
 * UTF-8 text as the inside of a JSON string, bytes to bytes (what JSON.stringify writes for it, minus the quotes):
 * `"`, `\` and control characters escaped, everything else as is. Zero the result when done.
 */
export function escapeJsonText(text: Uint8Array): Buffer {
  const out = allocWipeable(text.length * 6);
  let n = 0;
  for (const byte of text) {
    if (byte === QUOTE || byte === BACKSLASH) {
      out[n++] = BACKSLASH;
      out[n++] = byte;
    } else if (byte < 0x20) {
      n += out.write(`\\u00${byte < 0x10 ? '0' : ''}${byte.toString(16)}`, n, 'latin1');
    } else {
      out[n++] = byte;
    }
  }
  return out.subarray(0, n);
}
