// `status`: what is open and mounted, told from the system, plus the unlock record and the dependents.
import { resolveDevice } from '../device/resolve.ts';
import { describeRecovery, readRecoverySlots, type RecoverySlot } from '../luks/recovery-token.ts';
import { readUnlockRecord, type UnlockRecord } from './unlock-record.ts';
import { inspectVolume, mapperPath } from './inspect.ts';
import type { DependentStatus } from '../systemd/dependents.ts';
import type { VolumeDeps } from './deps.ts';
import { printable } from '../errors.ts';
import type { VolumeConfig } from '../types.ts';


export interface VolumeStatus {
  volume: string;
  configFiles: string[];
  device: string;
  mapping: { name: string; path: string; open: boolean; device: string | undefined };
  mount: { point: string; mounted: boolean; source: string | undefined; fsType: string | undefined; options: string | undefined };
  unlocked: UnlockRecord | undefined;
  dependents: DependentStatus[];
  /** Recovery key slots from the LUKS2 header (slot and date, never a key), or why they could not be read. */
  recovery: { slots: RecoverySlot[] } | { unknown: string };
  /** Open and mounted where configured. */
  active: boolean;
}

export type DescribeDependents = (config: VolumeConfig) => Promise<DependentStatus[]>;

export async function readVolumeStatus(deps: VolumeDeps, config: VolumeConfig, describeDependents: DescribeDependents): Promise<VolumeStatus> {
  const state = await inspectVolume(deps.run, config, deps.mountinfoPath, deps.sysRoot);
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
    recovery: await recoveryOf(deps, config),
    active: state.mapping.active && state.mountedHere,
  };
}

/** One look for the device (status never waits for it), then its header. */
async function recoveryOf(deps: VolumeDeps, config: VolumeConfig): Promise<VolumeStatus['recovery']> {
  let device: string;
  try {
    device = await resolveDevice(config.device, { deadline: deps.clock.now(), clock: deps.clock, devRoot: deps.devRoot, allowRegularFile: true });
  } catch (error) {
    return { unknown: (error as Error).message };
  }
  return readRecoverySlots(deps.run, device);
}

/** Open but not mounted is a state of its own (review 8): start mounts it, without asking AWS again. */
function headline(s: VolumeStatus): string {
  if (s.active) return 'unlocked and mounted';
  // With another filesystem at the mount point start refuses (82): the mount line says what is there.
  return s.mapping.open && !s.mount.mounted && s.mount.source === undefined ? `open but not mounted: luks-ssm start ${s.volume} mounts it` : 'not active';
}

export function formatVolumeStatus(s: VolumeStatus): string {
  const lines = [
    `volume:     ${s.volume} (${headline(s)})`,
    `config:     ${s.configFiles.join(', ')}`,
    `device:     ${s.device}${s.mapping.device ? ` -> ${s.mapping.device}` : ''}`,
    `mapping:    ${s.mapping.path} ${s.mapping.open ? 'open' : 'closed'}`,
    `mount:      ${s.mount.point} ${s.mount.mounted ? `mounted (${s.mount.fsType}, ${s.mount.options})` : s.mount.source ? `has ${s.mount.source} mounted (not this volume)` : 'not mounted'}`,
  ];
  if (s.unlocked) {
    const version = s.unlocked.version === undefined ? '' : ` version ${s.unlocked.version}`;
    lines.push(`unlocked:   ${s.unlocked.unlockedAt} with ${s.unlocked.source}${version}${s.unlocked.region ? ` (${s.unlocked.region})` : ''}`);
  }
  lines.push(`recovery:   ${describeRecovery(s.recovery, s.volume)}`);
  for (const d of s.dependents) {
    const order = d.orderedAfter === undefined ? 'ordering unknown' : d.orderedAfter ? 'ordered after the volume' : 'NOT ordered after the volume';
    lines.push(`dependent:  ${d.unit} ${d.activeState}, ${order}`);
  }
  // A mount's source and options are anyone's text (fusermount's fsname=): shown, never obeyed by the terminal.
  return `${lines.map(printable).join('\n')}\n`;
}
