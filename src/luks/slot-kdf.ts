// What each key slot's PBKDF costs, read from `cryptsetup luksDump` text (every cryptsetup version prints it).
import type { Runner } from '../types.ts';
import { DEFAULT_QUERY_TIMEOUT_MS } from './cryptsetup.ts';
import { cryptsetupError } from './exit-status.ts';

export interface SlotKdf {
  slot: number;
  /** pbkdf2, argon2i or argon2id. */
  type: string;
  /** pbkdf2 only. */
  hash?: string;
  iterations?: number;
  /** argon2 only. */
  timeCost?: number;
  memoryKib?: number;
  threads?: number;
}

const FIELDS: Record<string, (kdf: SlotKdf, value: string) => void> = {
  PBKDF: (kdf, value) => { kdf.type = value; },
  Hash: (kdf, value) => { kdf.hash = value; },
  Iterations: (kdf, value) => { kdf.iterations = Number(value); },
  'Time cost': (kdf, value) => { kdf.timeCost = Number(value); },
  Memory: (kdf, value) => { kdf.memoryKib = Number(value); },
  Threads: (kdf, value) => { kdf.threads = Number(value); },
};

/**
 * The LUKS2 "Keyslots:" section: "  0: luks2" then tab-indented "PBKDF:      argon2id", "Memory:     1048576"...
 * A LUKS1 dump has no such section (its slots are always PBKDF2): the result is then empty.
 */
export function parseSlotKdfs(dump: string): SlotKdf[] {
  const slots: SlotKdf[] = [];
  let inKeyslots = false;
  for (const line of dump.split('\n')) {
    if (/^\S/.test(line)) {
      inKeyslots = line.startsWith('Keyslots:');
      continue;
    }
    if (!inKeyslots) continue;
    const head = /^ {2}(\d+): /.exec(line);
    if (head) {
      slots.push({ slot: Number(head[1]), type: 'unknown' });
      continue;
    }
    const field = /^\t([A-Za-z ]+):\s*(\S.*?)\s*$/.exec(line);
    const current = slots.at(-1);
    if (field && current) FIELDS[field[1] as string]?.(current, field[2] as string);
  }
  return slots;
}

export async function readSlotKdfs(run: Runner, device: string): Promise<SlotKdf[]> {
  const result = await run('cryptsetup', ['luksDump', '--', device], { timeoutMs: DEFAULT_QUERY_TIMEOUT_MS });
  if (result.exitCode !== 0 || result.timedOut) throw cryptsetupError(`read the key slots of ${device}`, device, result);
  return parseSlotKdfs(result.stdout);
}

/** "argon2id, 1024 MiB, time cost 4, 4 threads" or "pbkdf2-sha512, 1000 iterations". */
export function describeSlotKdf(kdf: SlotKdf): string {
  if (kdf.type === 'pbkdf2') return `pbkdf2${kdf.hash ? `-${kdf.hash}` : ''}, ${kdf.iterations ?? '?'} iterations`;
  const parts = [kdf.type];
  if (kdf.memoryKib !== undefined) parts.push(`${mib(kdf.memoryKib)} memory`);
  if (kdf.timeCost !== undefined) parts.push(`time cost ${kdf.timeCost}`);
  if (kdf.threads !== undefined) parts.push(`${kdf.threads} thread${kdf.threads === 1 ? '' : 's'}`);
  return parts.join(', ');
}

/** KiB as "1024 MiB" (whole MiB; below 1 MiB as KiB). */
export function mib(kib: number): string {
  return kib < 1024 ? `${kib} KiB` : `${Math.round(kib / 1024)} MiB`;
}
