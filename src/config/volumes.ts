// Volume names (the systemd instance) and the per-volume files they name: <confDir>/<volume>.conf.
import { readdirSync, type Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UnlockError } from '../errors.ts';
import { suggestName } from './suggest.ts';

/**
 * Instance-safe for luks-ssm@<volume>.service, and short enough that "<volume>.conf" fits NAME_MAX; not starting
 * with '-', which a command line would take for an option.
 */
const VOLUME_NAME = /^[A-Za-z0-9_.@][A-Za-z0-9_.@-]{0,249}$/;
const CONF_SUFFIX = '.conf';

export function isVolumeName(name: string): boolean {
  return VOLUME_NAME.test(name) && name !== '.' && name !== '..';
}

export function assertVolumeName(name: string): void {
  if (!isVolumeName(name)) {
    const shown = name.length > 60 ? `${name.slice(0, 60)}…` : name;
    throw new UnlockError('USAGE', `invalid volume name ${JSON.stringify(shown)}: use 1 to 250 of letters, digits and _ . @ -, not starting with -`);
  }
}

export function volumeConfigPath(confDir: string, volume: string): string {
  return join(confDir, `${volume}${CONF_SUFFIX}`);
}

/**
 * Volumes with a <name>.conf in confDir, sorted by code point (stable whatever the locale). Hidden files
 * and names that are not valid volume names are skipped; a missing directory means no volumes.
 */
export async function listConfiguredVolumes(confDir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(confDir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    if (code === 'EACCES') throw new UnlockError('PERMISSION', `${confDir}: permission denied`, { cause: error, hint: 'run luks-ssm as root' });
    throw new UnlockError('CONFIG', `Failed to list ${confDir}: ${code ?? String(error)}`, { cause: error });
  }
  return volumesAmong(entries);
}

/**
 * For a volume with no config: the configured volume the user probably meant (`status data.conf` → data, a
 * typo → the nearest name), or undefined. Only a hint, so an unreadable directory just means none.
 */
export function nearestConfiguredVolume(confDir: string, volume: string): string | undefined {
  let volumes: string[];
  try {
    volumes = volumesAmong(readdirSync(confDir, { withFileTypes: true }));
  } catch {
    return undefined;
  }
  const stem = volume.endsWith(CONF_SUFFIX) ? volume.slice(0, -CONF_SUFFIX.length) : undefined;
  if (stem !== undefined && volumes.includes(stem)) return stem;
  return suggestName(volume, volumes);
}

function volumesAmong(entries: Dirent[]): string[] {
  return entries
    .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && entry.name.endsWith(CONF_SUFFIX))
    .map((entry) => entry.name.slice(0, -CONF_SUFFIX.length))
    .filter((name) => !name.startsWith('.') && isVolumeName(name))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
