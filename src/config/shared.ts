// Settings two volumes must never share (review 16): a config copied for a second volume keeps the first one's
// SSM_PATH, mapping and mount point. A shared parameter is the worst: enroll takes the other volume's live key for
// an interrupted enroll, and every rotation of one leaves the other's key slot a version further behind, until
// it no longer opens at boot.
import { UnlockError } from '../errors.ts';
import type { VolumeConfig } from '../types.ts';
import { loadVolumeConfig } from './load.ts';
import { listConfiguredVolumes } from './volumes.ts';

export interface SharedSetting {
  key: 'SSM_PATH' | 'LUKS_DEVICE_MAP' | 'LUKS_DEVICE_MOUNT_POINT';
  value: string;
  /** The other volume, and its own config file. */
  volume: string;
  file: string;
}

export interface OtherConfigsOptions {
  confDir: string;
  defaultsFile: string;
  env: Record<string, string | undefined>;
  requireRootOwned?: boolean;
}

/** What `config` shares with the other volumes configured in `confDir`; a config that does not load is not judged. */
export async function settingsSharedWithOthers(config: VolumeConfig, opts: OtherConfigsOptions): Promise<SharedSetting[]> {
  const names = await listConfiguredVolumes(opts.confDir).catch(() => [] as string[]);
  const shared: SharedSetting[] = [];
  for (const volume of names.filter((name) => name !== config.volume)) {
    const other = await loadVolumeConfig({ volume, confDir: opts.confDir, defaultsFile: opts.defaultsFile, env: opts.env, requireRootOwned: opts.requireRootOwned }).catch(() => undefined);
    if (other === undefined) continue;
    const file = other.sources.at(-1) ?? volume;
    if (sameParameter(config, other)) shared.push({ key: 'SSM_PATH', value: config.ssmPath!, volume, file });
    if (other.mapName === config.mapName) shared.push({ key: 'LUKS_DEVICE_MAP', value: config.mapName, volume, file });
    if (other.mountPoint === config.mountPoint) shared.push({ key: 'LUKS_DEVICE_MOUNT_POINT', value: config.mountPoint, volume, file });
  }
  return shared;
}

/** Both read the passphrase from one SSM parameter: same name (an ARN names one too), and a region that is the same or not known yet. */
function sameParameter(a: VolumeConfig, b: VolumeConfig): boolean {
  const x = parameterOf(a);
  const y = parameterOf(b);
  return x !== undefined && y !== undefined && x.name === y.name && (x.region === undefined || y.region === undefined || x.region === y.region);
}

/** arn:aws:ssm:<region>:<account>:parameter/<name without its leading slash> is the parameter /<name> of that region. */
function parameterOf(c: VolumeConfig): { name: string; region: string | undefined } | undefined {
  if ((c.keySource ?? 'ssm') !== 'ssm' || c.ssmPath === undefined) return undefined;
  const arn = /^arn:aws[a-z-]*:ssm:([a-z0-9-]+):\d{12}:parameter\/(.+)$/.exec(c.ssmPath);
  if (arn === null) return { name: c.ssmPath, region: c.region };
  return { name: arn[2]!.includes('/') ? `/${arn[2]}` : arn[2]!, region: arn[1] };
}

/** CONFIG (78) naming each shared setting and the other volume's file, with the fix; nothing when none is shared. */
export function refuseSharedSettings(config: VolumeConfig, shared: SharedSetting[]): void {
  if (shared.length === 0) return;
  const what = shared.map((s) => `${s.key}=${s.value} is also volume '${s.volume}''s (${s.file})`).join('; ');
  const ownFile = config.sources.at(-1) ?? `${config.volume}.conf`;
  const parameter = shared.some((s) => s.key === 'SSM_PATH');
  throw new UnlockError('CONFIG', `${what}${parameter ? ': a rotation of one would leave the other\'s key slot behind, until it no longer opens' : ''}, refusing`, {
    hint: `give volume '${config.volume}' its own ${[...new Set(shared.map((s) => s.key))].join(', ')} in ${ownFile}`,
  });
}
