// The memory an argon2 key slot competes for, from /proc/meminfo, and how a slot's need compares with it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnlockError } from '../errors.ts';

export interface InstanceMemory {
  /** MemTotal: what this instance has at all. */
  totalKib: number;
  /** MemAvailable: what it could give now without swapping (page cache counts as free). */
  availableKib: number;
}

export async function readInstanceMemory(procRoot = '/proc'): Promise<InstanceMemory> {
  const path = join(procRoot, 'meminfo');
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    throw new UnlockError('SYSTEM', `Failed to read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
  });
  const field = (name: string): number | undefined => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
    return match ? Number(match[1]) : undefined;
  };
  const totalKib = field('MemTotal');
  if (totalKib === undefined) throw new UnlockError('SYSTEM', `Failed to read ${path}: no MemTotal line`);
  return { totalKib, availableKib: field('MemAvailable') ?? totalKib };
}

export type SlotMemoryVerdict = 'ok' | 'warn' | 'fail';

/**
 * fail: the slot needs more than MemTotal. The kernel refuses one allocation larger than RAM + swap, so cryptsetup
 * exits 3 ("Not enough available memory") at every boot of an instance this size.
 * warn: more than half of MemTotal. cryptsetup itself never gives a new slot more than half the physical memory, so
 * such a slot was made on a larger machine; at boot other units start beside it, and the page cache it must evict
 * costs time. MemAvailable is only reported: check runs on a live system whose services (not yet running at boot) hold
 * memory, so failing on it would cry wolf.
 */
export function slotMemoryVerdict(memoryKib: number | undefined, memory: InstanceMemory): SlotMemoryVerdict {
  if (memoryKib === undefined) return 'ok';
  if (memoryKib > memory.totalKib) return 'fail';
  return memoryKib > memory.totalKib / 2 ? 'warn' : 'ok';
}
