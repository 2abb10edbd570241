// Where a volume's keys stand: which stored key opens which slot, and what is left over from an interrupted run.
import { UnlockError } from '../errors.ts';
import { slotOpenedBy } from '../luks/keyslots.ts';
import type { Logger, Runner } from '../types.ts';
import type { KeyStore, StoredKey } from './store.ts';

export interface SurveyedKey extends StoredKey {
  /** The slot this key opens; undefined when it opens none. */
  slot: number | undefined;
}

export interface Survey {
  keys: SurveyedKey[];
  newest: SurveyedKey;
  /** Older keys that still open a slot other than the newest key's: removed at the end of a rotation. */
  olderInUse: SurveyedKey[];
  /** Older keys that open nothing (or copies of the newest) and that the store cleans up (tokens); empty for SSM history. */
  stale: SurveyedKey[];
  /** Replica writes still owed (SSM regions behind). */
  repairs: string[];
}

/**
 * Tests every stored key (newest first, as start tries them) against the device. Slots no stored key opens — a
 * recovery passphrase, another tool's key — are never looked at again, let alone removed.
 */
export async function surveyKeys(store: KeyStore, run: Runner, device: string): Promise<Survey | undefined> {
  const stored = await store.list();
  if (stored.length === 0) return undefined;
  const keys: SurveyedKey[] = [];
  for (const key of stored) keys.push({ ...key, slot: await slotOpenedBy(run, device, key.secret) });
  const [newest, ...older] = keys as [SurveyedKey, ...SurveyedKey[]];
  return {
    keys,
    newest,
    olderInUse: older.filter((k) => k.slot !== undefined && k.slot !== newest.slot),
    // A token opening the newest key's own slot is a second copy of that key (an interrupted assignToken).
    stale: store.keepsStaleKeys ? [] : older.filter((k) => k.slot === undefined || (k.tokenId !== undefined && k.slot === newest.slot)),
    repairs: await store.pendingRepairs(newest),
  };
}

/** Nothing left over: the newest key opens a slot, no older key does, every replica is current. */
export function isSettled(survey: Survey): boolean {
  return survey.newest.slot !== undefined && survey.olderInUse.length === 0 && survey.stale.length === 0 && survey.repairs.length === 0;
}

/** The key that authorises adding the newest: the newest itself if it already opens, else the newest older one that does. */
export function authoriserOf(survey: Survey, device: string, store: KeyStore): SurveyedKey {
  if (survey.newest.slot !== undefined) return survey.newest;
  const older = survey.olderInUse[0];
  if (older !== undefined) return older;
  throw new UnlockError('WRONG_PASSPHRASE', `No key in ${store.description} opens a key slot of ${device}, refusing`, {
    hint: 'check the parameter/tokens against the device (luks-ssm check); add a working key with enroll --add-to-existing',
  });
}

export function describeSurvey(survey: Survey): string[] {
  return survey.keys.map((k) => `${k.label}: ${k.slot === undefined ? 'opens no key slot' : `opens key slot ${k.slot}`}`);
}

export function logSurvey(log: Logger, survey: Survey, device: string): void {
  for (const line of describeSurvey(survey)) log.info({ device }, line);
}
