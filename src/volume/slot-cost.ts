// What the key slot a key opens costs, in figures: check's keyslot step, and start's one line when cryptsetup
// runs out of memory (exit 3) — both name the slot's memory and this instance's, with `luks-ssm rotate` as the fix.
import { UnlockError } from '../errors.ts';
import { readInstanceMemory, slotMemoryVerdict, type InstanceMemory, type SlotMemoryVerdict } from '../luks/memory.ts';
import { readSlotKdfs, type SlotKdf } from '../luks/header.ts';
import type { VolumeConfig } from '../types.ts';
import type { VolumeDeps } from './deps.ts';

export interface SlotCost {
  verdict: SlotMemoryVerdict;
  detail: string;
  hint?: string;
}

export function describeMemory(memory: InstanceMemory): string {
  return `${mib(memory.totalKib)} (${mib(memory.availableKib)} available now)`;
}

function rotateHint(config: VolumeConfig, elsewhere: boolean): string {
  const where = elsewhere ? ' on an instance with more memory' : '';
  return `run luks-ssm rotate ${config.volume}${where}: the new key slot is PBKDF2 with 1000 iterations (~8 MiB, milliseconds)`;
}

/** check: the slot `slot` of `device`, which the key opened in `openedMs`. */
export async function slotCost(deps: VolumeDeps, config: VolumeConfig, device: string, slot: number, openedMs: number): Promise<SlotCost> {
  const [kdfs, memory] = await Promise.all([readSlotKdfs(deps.run, device), readInstanceMemory(deps.procRoot)]);
  const kdf = kdfs.find((k) => k.slot === slot);
  const took = `test-passphrase took ${(openedMs / 1000).toFixed(2)} s`;
  if (kdf === undefined) return { verdict: 'ok', detail: `key slot ${slot} (LUKS1: PBKDF2), ${took}` };
  const verdict = slotMemoryVerdict(kdf.memoryKib, memory);
  const detail = `key slot ${slot}: ${describeSlotKdf(kdf)}; ${took}; this instance has ${describeMemory(memory)}`;
  if (verdict === 'fail') return { verdict, detail: `${detail}: the slot needs more than this instance has`, hint: rotateHint(config, true) };
  if (verdict === 'warn') return { verdict, detail: `${detail}: the slot needs more than half of it`, hint: rotateHint(config, false) };
  return { verdict, detail };
}

/** The costliest argon2 slot: the one cryptsetup could not get the memory for (the key that failed is unknown). */
function costliest(kdfs: SlotKdf[]): SlotKdf | undefined {
  return kdfs.filter((k) => k.memoryKib !== undefined).sort((a, b) => (b.memoryKib as number) - (a.memoryKib as number))[0];
}

/** start/check hit cryptsetup's out-of-memory exit: one line with both figures (best effort: the header may not read). */
export async function explainTooCostly(deps: VolumeDeps, config: VolumeConfig, device: string, error: UnlockError, what: string): Promise<UnlockError> {
  const [kdfs, memory] = await Promise.all([
    readSlotKdfs(deps.run, device).catch(() => []),
    readInstanceMemory(deps.procRoot).catch(() => undefined),
  ]);
  const slot = costliest(kdfs);
  if (slot === undefined || memory === undefined) return error;
  return new UnlockError('SLOT_TOO_COSTLY',
    `Failed to ${what}: key slot ${slot.slot} needs ${mib(slot.memoryKib as number)} of memory (${slot.type}), this instance has ${describeMemory(memory)}`,
    { cause: error, hint: rotateHint(config, true) });
}

/** "argon2id, 1024 MiB memory, time cost 4, 2 threads" or "pbkdf2-sha512, 1000 iterations". */
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
