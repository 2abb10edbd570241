// What `start` leaves in /run/luks-ssm for `status`: which parameter version opened the volume and when, never the key.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_RUN_DIR = '/run/luks-ssm';

export interface UnlockRecord {
  volume: string;
  device: string;
  mapName: string;
  mountPoint: string;
  /** Where the key came from, e.g. "ssm:/luks/data" — a name, never the value. */
  source: string;
  /** The parameter version that opened the device. */
  version: number | undefined;
  region: string | undefined;
  unlockedAt: string;
}

function recordPath(runDir: string, volume: string): string {
  return join(runDir, `${volume}.json`);
}

export async function writeUnlockRecord(runDir: string, record: UnlockRecord): Promise<void> {
  await mkdir(runDir, { recursive: true, mode: 0o700 });
  const path = recordPath(runDir, record.volume);
  const temp = `${path}.tmp`;
  try {
    // O_NOFOLLOW: a symlink planted in the run directory is not written through (review 9).
    await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600, flag: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW });
    await rename(temp, path);
  } catch (error) {
    // A full /run leaves an empty or partial temp file: never leave it behind for status to trip on.
    await rm(temp, { force: true });
    throw error;
  }
}

export async function readUnlockRecord(runDir: string, volume: string): Promise<UnlockRecord | undefined> {
  try {
    return JSON.parse(await readFile(recordPath(runDir, volume), 'utf8')) as UnlockRecord;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function removeUnlockRecord(runDir: string, volume: string): Promise<void> {
  await rm(recordPath(runDir, volume), { force: true });
}
