// Counts the copies of a secret in another process's memory (/proc/<pid>/maps + /proc/<pid>/mem), as a core dump would hold them.
import { open, readFile } from 'node:fs/promises';

export interface MemoryHit {
  /** Which encoding matched: raw bytes, UTF-16LE (a V8 two-byte string), base64 (a JSON body's Plaintext). */
  form: string;
  address: bigint;
  /** The mapping's name from /proc/<pid>/maps: [heap], [anon], a file… */
  region: string;
}

interface Region {
  start: bigint;
  end: bigint;
  name: string;
}

/** Readable, private or shared regions; [vvar] and friends cannot be read through /proc/<pid>/mem. */
async function readableRegions(pid: number): Promise<Region[]> {
  const maps = await readFile(`/proc/${pid}/maps`, 'utf8');
  const regions: Region[] = [];
  for (const line of maps.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (!m || !m[3]!.startsWith('r')) continue;
    const name = m[4] || '[anon]';
    if (name === '[vvar]' || name === '[vvar_vclock]' || name === '[vsyscall]') continue;
    regions.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), name });
  }
  return regions;
}

function occurrences(haystack: Buffer, needle: Buffer): number[] {
  const found: number[] = [];
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) found.push(at);
  return found;
}

const CHUNK = 16 * 1024 * 1024;

/**
 * Every place `forms` occur in the process's readable memory. Regions are read in chunks that overlap by the
 * longest needle, so a copy across a chunk boundary is found once.
 */
export async function findInMemory(pid: number, forms: Array<[string, Buffer]>): Promise<MemoryHit[]> {
  const longest = Math.max(...forms.map(([, b]) => b.length));
  const hits: MemoryHit[] = [];
  const mem = await open(`/proc/${pid}/mem`, 'r');
  try {
    for (const region of await readableRegions(pid)) {
      for (let at = region.start; at < region.end; at += BigInt(CHUNK)) {
        const size = Number(region.end - at < BigInt(CHUNK + longest) ? region.end - at : BigInt(CHUNK + longest));
        const buffer = Buffer.alloc(size);
        let read: number;
        try {
          // A bigint position: user-space addresses exceed 2^53 on some kernels.
          ({ bytesRead: read } = await mem.read(buffer, 0, size, at as unknown as number));
        } catch {
          break; // unreadable (guard pages, device mappings): not a place a core dump holds a copy either
        }
        const view = buffer.subarray(0, read);
        for (const [form, needle] of forms) {
          for (const offset of occurrences(view, needle)) {
            // Matches starting in the overlap belong to the next chunk.
            if (offset >= CHUNK && at + BigInt(CHUNK) < region.end) continue;
            hits.push({ form, address: at + BigInt(offset), region: region.name });
            // To attribute a copy: the bytes around it (a V8 string's header shows its length before the text).
            if (process.env.LUKS_SSM_SCAN_CONTEXT) console.log(form, region.name, JSON.stringify(view.toString('latin1', Math.max(0, offset - 64), offset + needle.length + 64)));
          }
        }
      }
    }
  } finally {
    await mem.close();
  }
  return hits;
}

/** The encodings a text key can take in a Node process: its bytes, a V8 two-byte string, base64 of it. */
export function keyForms(key: Buffer): Array<[string, Buffer]> {
  return [
    ['raw bytes', key],
    ['UTF-16LE', Buffer.from(key.toString('latin1'), 'utf16le')],
    ['base64', Buffer.from(key.toString('base64').slice(0, -4), 'latin1')],
  ];
}
