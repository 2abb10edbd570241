// The LUKS2 token that marks a recovery key's slot: systemd-cryptenroll's own "systemd-recovery" type.
import type { Runner } from '../types.ts';
import { readLuksHeader, type LuksHeader } from './keyslots.ts';

/**
 * systemd-cryptenroll --recovery-key writes {"type":"systemd-recovery","keyslots":["N"]} (src/cryptenroll/
 * cryptenroll-recovery.c), and `systemd-cryptenroll --wipe-slot=recovery` finds slots by it. The same type
 * makes ours interoperable; the extra field (systemd ignores fields it does not know) records the date.
 */
export const RECOVERY_TOKEN_TYPE = 'systemd-recovery';
export const RECOVERY_CREATED_FIELD = 'luks-ssm-created';

export interface RecoverySlot {
  tokenId: number;
  slot: number;
  /** ISO date, or undefined for a token systemd-cryptenroll made. */
  created: string | undefined;
}

export function recoveryTokenJson(slot: number, created: string): string {
  return JSON.stringify({ type: RECOVERY_TOKEN_TYPE, keyslots: [String(slot)], [RECOVERY_CREATED_FIELD]: created });
}

/** The header's recovery slots (ours and systemd-cryptenroll's), lowest slot first; tokens naming no slot are left out. */
export function recoverySlotsOf(header: LuksHeader): RecoverySlot[] {
  return header.tokens
    .filter((t) => t.type === RECOVERY_TOKEN_TYPE && t.keyslots.length > 0 && header.keyslots.includes(t.keyslots[0]!))
    .map((t) => {
      const created = t.json[RECOVERY_CREATED_FIELD];
      return { tokenId: t.id, slot: t.keyslots[0]!, created: typeof created === 'string' ? created : undefined };
    })
    .sort((a, b) => a.slot - b.slot);
}

export function describeRecoverySlot(r: RecoverySlot): string {
  return `recovery key in key slot ${r.slot}${r.created === undefined ? ' (made by systemd-cryptenroll)' : `, created ${r.created}`}`;
}

/** For status and check, which must not fail over it: the slots, or why they could not be read. */
export async function readRecoverySlots(run: Runner, device: string): Promise<{ slots: RecoverySlot[] } | { unknown: string }> {
  try {
    return { slots: recoverySlotsOf(await readLuksHeader(run, device)) };
  } catch (error) {
    return { unknown: (error as Error).message };
  }
}

/** One line: "recovery key in key slot 1, created …", "none", or why it is unknown. Never the key. */
export function describeRecovery(found: { slots: RecoverySlot[] } | { unknown: string }, volume: string): string {
  if ('unknown' in found) return `unknown (${found.unknown})`;
  if (found.slots.length === 0) return `none (luks-ssm recovery-key ${volume} adds one)`;
  return found.slots.map(describeRecoverySlot).join('; ');
}
