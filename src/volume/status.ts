// `status`: what is open and mounted, told from the system, plus the unlock record and the dependents.
import { readUnlockRecord, type UnlockRecord } from './unlock-record.ts';
import { inspectVolume, mapperPath } from './inspect.ts';
import type { DependentStatus } from '../systemd/dependents.ts';
import type { VolumeDeps } from './deps.ts';
import type { VolumeConfig } from '../types.ts';


export interface VolumeStatus {
  volume: string;
  configFiles: string[];
  device: string;
  mapping: { name: string; path: string; open: boolean; device: string | undefined };
  mount: { point: string; mounted: boolean; source: string | undefined; fsType: string | undefined; options: string | undefined };
  unlocked: UnlockRecord | undefined;
  dependents: DependentStatus[];
  /** Open and mounted where configured. */
  active: boolean;
}

export type DescribeDependents = (config: VolumeConfig) => Promise<DependentStatus[]>;

export async function readVolumeStatus(deps: VolumeDeps, config: VolumeConfig, describeDependents: DescribeDependents): Promise<VolumeStatus> {
  const state = await inspectVolume(deps.run, config, deps.mountinfoPath);
  const record = state.mapping.active ? await readUnlockRecord(deps.runDir, config.volume) : undefined;
  const mount = state.mountAtTarget;
  return {
    volume: config.volume,
    configFiles: config.sources,
    device: config.device,
    mapping: { name: config.mapName, path: mapperPath(config.mapName), open: state.mapping.active, device: state.mapping.device },
    mount: { point: config.mountPoint, mounted: state.mountedHere, source: mount?.source, fsType: mount?.fsType, options: mount?.options },
    unlocked: record,
    dependents: await describeDependents(config),
    active: state.mapping.active && state.mountedHere,
  };
}

export function formatVolumeStatus(s: VolumeStatus): string {
  const lines = [
    `volume:     ${s.volume} (${s.active ? 'unlocked and mounted' : 'not active'})`,
    `config:     ${s.configFiles.join(', ')}`,
    `device:     ${s.device}${s.mapping.device ? ` -> ${s.mapping.device}` : ''}`,
    `mapping:    ${s.mapping.path} ${s.mapping.open ? 'open' : 'closed'}`,
    `mount:      ${s.mount.point} ${s.mount.mounted ? `mounted (${s.mount.fsType}, ${s.mount.options})` : s.mount.source ? `has ${s.mount.source} mounted (not this volume)` : 'not mounted'}`,
  ];
  if (s.unlocked) {
    const version = s.unlocked.version === undefined ? '' : ` version ${s.unlocked.version}`;
    lines.push(`unlocked:   ${s.unlocked.unlockedAt} with ${s.unlocked.source}${version}${s.unlocked.region ? ` (${s.unlocked.region})` : ''}`);
  }
  for (const d of s.dependents) {
    const order = d.orderedAfter === undefined ? 'ordering unknown' : d.orderedAfter ? 'ordered after the volume' : 'NOT ordered after the volume';
    lines.push(`dependent:  ${d.unit} ${d.activeState}, ${order}`);
  }
  return `${lines.join('\n')}\n`;
}
