// Loads one volume's config: defaults file, then the volume's own file over it, checked against the key table.
import { UnlockError } from '../errors.ts';
import type { VolumeConfig } from '../types.ts';
import { CONFIG_KEYS, findConfigKey, type ConfigDraft, type ConfigKey } from './keys.ts';
import { quote, type ParsedConfigFile } from './parse.ts';
import { readConfigFile } from './read.ts';
import { checkCombinations, type Setting } from './rules.ts';
import { suggestName } from './suggest.ts';
import { checkRegion } from './validate.ts';
import { assertVolumeName, nearestConfiguredVolume, volumeConfigPath } from './volumes.ts';

export interface LoadConfigOptions {
  /** Instance name, [A-Za-z0-9_.@-]+; anything else is UnlockError('USAGE'). */
  volume: string;
  /** --config FILE: used instead of <confDir>/<volume>.conf (still layered over the defaults file). */
  configFile?: string;
  /** Directory of per-volume files (default /etc/luks-ssm; the caller passes LUKS_SSM_CONF_DIR). */
  confDir: string;
  /** Defaults for every volume (default /etc/default/luks-ssm, caller passes LUKS_SSM_DEFAULTS); missing = none. */
  defaultsFile: string;
  /** Read for the AWS_REGION fallback only: config never reads process.env itself. */
  env: Record<string, string | undefined>;
  /** Refuse files not owned by root (default true; tests pass false). */
  requireRootOwned?: boolean;
}

/** Where the packages install the commented example. */
export const SAMPLE_CONFIG_PATH = '/etc/luks-ssm/example.conf.sample';

function missingVolumeHint(confDir: string, volume: string): string {
  const near = nearestConfiguredVolume(confDir, volume);
  return near === undefined ? `create it from ${SAMPLE_CONFIG_PATH}` : `did you mean '${near}'? Otherwise create it from ${SAMPLE_CONFIG_PATH}`;
}

export async function loadVolumeConfig(opts: LoadConfigOptions): Promise<VolumeConfig> {
  assertVolumeName(opts.volume);
  const requireRootOwned = opts.requireRootOwned ?? true;
  const path = opts.configFile ?? volumeConfigPath(opts.confDir, opts.volume);
  // Never undefined: onMissing turns a missing volume file into NOT_CONFIGURED.
  const own = readConfigFile(path, {
    requireRootOwned,
    onMissing: (missing) =>
      new UnlockError('NOT_CONFIGURED', `${missing}: no such config file for volume '${opts.volume}'`, {
        hint: opts.configFile === undefined ? missingVolumeHint(opts.confDir, opts.volume) : 'check the --config path',
      }),
  })!;
  const defaults = readConfigFile(opts.defaultsFile, { requireRootOwned, onMissing: () => undefined });
  const files = defaults ? [defaults, own] : [own];
  const settings = layerSettings(files);
  const get = (name: string): Setting | undefined => {
    const fallback = findConfigKey(name)?.default;
    return settings.get(name) ?? (fallback === undefined ? undefined : { value: fallback, order: -1 });
  };
  const waived = (key: ConfigKey): boolean => key.requiredUnless !== undefined && get(key.requiredUnless.key)?.value === key.requiredUnless.value;
  const unset = CONFIG_KEYS.find((key) => key.required && !settings.has(key.name) && !waived(key));
  if (unset !== undefined) {
    const elsewhere = defaults ? ` (nor in ${defaults.file})` : '';
    throw new UnlockError('CONFIG', `${own.file}: required key ${unset.name} is not set${elsewhere}`);
  }
  checkCombinations(get);
  const draft = emptyDraft();
  for (const key of CONFIG_KEYS) {
    const setting = get(key.name);
    if (setting !== undefined) key.apply(draft, setting.value);
  }
  if (!settings.has('DEVICE_TIMEOUT_SEC')) draft.deviceTimeoutSec = defaultDeviceTimeoutSec(draft.timeoutSec);
  draft.region ??= regionFromEnv(opts.env);
  return { volume: opts.volume, sources: files.map((f) => f.file), ...draft };
}

/**
 * Every entry of every file is checked, even one a later file overrides: a broken line is reported,
 * never hidden. An empty value (KEY=) resets the key to its built-in default; for a required key it is an error.
 */
function layerSettings(files: ParsedConfigFile[]): Map<string, Setting> {
  const names = CONFIG_KEYS.map((key) => key.name);
  const settings = new Map<string, Setting>();
  let order = 0;
  for (const { file, entries } of files) {
    for (const { key: name, value, line } of entries) {
      const key = findConfigKey(name);
      if (key === undefined) {
        const guess = suggestName(name, names);
        throw new UnlockError('CONFIG', `${file}:${line}: unknown key '${name}'${guess ? `, did you mean '${guess}'?` : ''}`);
      }
      if (value === '') {
        if (key.required) throw new UnlockError('CONFIG', `${file}:${line}: required key ${name} is empty`);
        settings.delete(name);
        continue;
      }
      const problem = key.check(value);
      if (problem !== undefined) throw new UnlockError('CONFIG', `${file}:${line}: ${name}=${quote(value, 200)} ${problem}`);
      settings.set(name, { value, file, line, order: order++ });
    }
  }
  return settings;
}

function regionFromEnv(env: Record<string, string | undefined>): string | undefined {
  const region = env.AWS_REGION;
  if (region === undefined || region === '') return undefined;
  const problem = checkRegion(region);
  if (problem !== undefined) throw new UnlockError('CONFIG', `environment: AWS_REGION=${quote(region)} ${problem}`);
  return region;
}

/** Unset DEVICE_TIMEOUT_SEC: 30 s, or half of a shorter TIMEOUT_SEC, so `TIMEOUT_SEC=20` alone is valid and leaves time for AWS. */
export function defaultDeviceTimeoutSec(timeoutSec: number): number {
  return Math.min(30, Math.floor(timeoutSec / 2));
}

function emptyDraft(): ConfigDraft {
  return {
    device: '', mapName: '', fsType: '', mountOptions: '', mountPoint: '', mountPointMode: 0o700,
    mountOverNonEmpty: false, ssmPath: undefined, ssmSelector: undefined, region: undefined, endpoints: {},
    timeoutSec: 0, deviceTimeoutSec: 0, requiredBy: [], ssmValueEncoding: 'text',
  };
}
