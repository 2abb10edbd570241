// The two settings that say who depends on a volume, read on their own from a config that does not load as a whole:
// the generator still keeps the volume's dependents from starting without it (review 15).
import { findConfigKey } from './keys.ts';
import { readConfigFile } from './read.ts';
import { splitWords } from './validate.ts';
import { volumeConfigPath } from './volumes.ts';

export interface GuardKeys {
  /** LUKS_DEVICE_MOUNT_POINT, when a trusted file sets it to a valid path. */
  mountPoint: string | undefined;
  /** REQUIRED_BY's units, when a trusted file sets a valid list. */
  requiredBy: string[];
  /** The files they were read from, defaults first. */
  sources: string[];
}

const GUARD_KEYS = ['LUKS_DEVICE_MOUNT_POINT', 'REQUIRED_BY'] as const;

/**
 * LUKS_DEVICE_MOUNT_POINT and REQUIRED_BY from the defaults file and the volume's own, the later winning, each
 * checked on its own. A file that fails the ownership checks (or does not parse) gives nothing: whoever can write
 * it must not get to add Requires= to other units either.
 */
export function readGuardKeys(opts: { volume: string; confDir: string; defaultsFile: string; requireRootOwned?: boolean }): GuardKeys {
  const values = new Map<string, string>();
  const sources: string[] = [];
  for (const path of [opts.defaultsFile, volumeConfigPath(opts.confDir, opts.volume)]) {
    let parsed;
    try {
      parsed = readConfigFile(path, { requireRootOwned: opts.requireRootOwned ?? true, onMissing: () => undefined });
    } catch {
      continue;
    }
    if (parsed === undefined) continue;
    sources.push(parsed.file);
    for (const { key, value } of parsed.entries) {
      if (!(GUARD_KEYS as readonly string[]).includes(key)) continue;
      // Empty resets; an unusable value too (a later file meant something else than the earlier value).
      if (value !== '' && findConfigKey(key)?.check(value) === undefined) values.set(key, value);
      else values.delete(key);
    }
  }
  return { mountPoint: values.get('LUKS_DEVICE_MOUNT_POINT'), requiredBy: splitWords(values.get('REQUIRED_BY') ?? ''), sources };
}
