// Finds a passphrase in captured output and files, in the forms a leak would take (raw, JSON, base64, hex…).
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Any 16 consecutive bytes of a form count as a leak (a truncated log line leaks too). */
export const WINDOW = 16;

export interface Haystack {
  /** Where the bytes came from: "stdout of start", a file path… */
  name: string;
  bytes: Buffer;
}

export interface Leak {
  haystack: string;
  form: string;
  offset: number;
}

function isUtf8(bytes: Buffer): boolean {
  return Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
}

/** The secret as it could appear: its bytes, in a JSON string, as base64 (any aligned piece), hex, a byte list. */
function forms(secret: Buffer): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [['raw bytes', secret]];
  // Binary keys decoded as UTF-8 (invalid bytes become U+FFFD) still leak their ASCII runs.
  if (!isUtf8(secret)) out.push(['UTF-8 decoded (lossy)', Buffer.from(secret.toString('utf8'), 'utf8')]);
  out.push(['JSON-escaped', Buffer.from(JSON.stringify(secret.toString('utf8')).slice(1, -1), 'utf8')]);
  for (let start = 0; start < 3; start += 1) out.push([`base64 (from byte ${start})`, Buffer.from(secret.subarray(start).toString('base64'), 'latin1')]);
  out.push(['hex', Buffer.from(secret.toString('hex'), 'latin1')]);
  // Buffer#toJSON: {"type":"Buffer","data":[255,254,…]}
  out.push(['byte list', Buffer.from([...secret].join(','), 'latin1')]);
  return out;
}

/** Every WINDOW-byte piece of every form, keyed by its latin1 text (a lossless byte map). */
function needles(secret: Buffer): Map<string, string> {
  if (secret.length < WINDOW) throw new Error(`secret scan needs secrets of at least ${WINDOW} bytes, got ${secret.length}`);
  const map = new Map<string, string>();
  for (const [form, bytes] of forms(secret)) {
    // base64 pieces that end in padding are not substrings of a longer encoding: drop the last quad.
    const usable = form.startsWith('base64') ? bytes.subarray(0, bytes.length - 4) : bytes;
    for (let i = 0; i + WINDOW <= usable.length; i += 1) {
      const piece = usable.toString('latin1', i, i + WINDOW);
      if (!map.has(piece)) map.set(piece, form);
    }
  }
  return map;
}

/** Where each secret appears in the haystacks; empty when nothing leaked. */
export function findLeaks(secrets: Buffer[], haystacks: Haystack[]): Leak[] {
  const leaks: Leak[] = [];
  for (const secret of secrets) {
    const pieces = needles(secret);
    for (const { name, bytes } of haystacks) {
      for (let i = 0; i + WINDOW <= bytes.length; i += 1) {
        const form = pieces.get(bytes.toString('latin1', i, i + WINDOW));
        if (form !== undefined) {
          leaks.push({ haystack: name, form, offset: i });
          break;
        }
      }
    }
  }
  return leaks;
}

/** Every regular file under `dir` (symlinks, device nodes and FIFOs are not followed), minus `skip`. */
export async function filesUnder(dir: string, skip: (path: string) => boolean = () => false): Promise<Haystack[]> {
  const found: Haystack[] = [];
  for (const entry of await readdir(dir)) {
    const path = join(dir, entry);
    if (skip(path)) continue;
    const info = await lstat(path);
    if (info.isDirectory()) found.push(...(await filesUnder(path, skip)));
    else if (info.isFile()) found.push({ name: path, bytes: await readFile(path) });
  }
  return found;
}
