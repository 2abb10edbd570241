// The truth about a volume, read from the system (dm table, mountinfo), never from the unit's state.
import { realpath } from 'node:fs/promises';
import { mappingStatus, type MappingStatus } from '../luks/cryptsetup.ts';
import { mountAt } from '../mount/mount-table.ts';
import { MOUNTINFO_PATH, readMounts, type MountEntry } from '../mount/mountinfo.ts';
import type { Runner, VolumeConfig } from '../types.ts';

export interface VolumeState {
  mapping: MappingStatus;
  /** Whatever the configured mount point (walked without symlinks) reaches, ours or not. */
  mountAtTarget: MountEntry | undefined;
  /** True when the mount at the mount point is this volume's mapping. */
  mountedHere: boolean;
  /** Other places the mapping is mounted (it can't be closed while they exist). */
  mountedElsewhere: MountEntry[];
}

export function mapperPath(mapName: string): string {
  return `/dev/mapper/${mapName}`;
}

async function canonical(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return path;
  }
}

async function isMapping(entry: MountEntry, mapName: string): Promise<boolean> {
  const mapper = mapperPath(mapName);
  if (entry.source === mapper) return true;
  return (await canonical(entry.source)) === (await canonical(mapper));
}

export async function inspectVolume(run: Runner, config: VolumeConfig, mountinfoPath: string = MOUNTINFO_PATH): Promise<VolumeState> {
  const mapping = await mappingStatus(run, config.mapName);
  const mountAtTarget = await mountAt(config.mountPoint, mountinfoPath);
  const mountedHere = mountAtTarget !== undefined && mapping.active && (await isMapping(mountAtTarget, config.mapName));
  const mountedElsewhere: MountEntry[] = [];
  if (mapping.active) {
    for (const entry of await readMounts(mountinfoPath)) {
      if (entry.mountId !== mountAtTarget?.mountId && (await isMapping(entry, config.mapName))) mountedElsewhere.push(entry);
    }
  }
  return { mapping, mountAtTarget, mountedHere, mountedElsewhere };
}
