// The truth about a volume, read from the system (dm table, mountinfo), never from the unit's state.
import { realpath, stat } from 'node:fs/promises';
import { majorMinor } from '../device/device-number.ts';
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

/** The mapping's block device as mountinfo writes it ("253:3"), or undefined when there is none to stat. */
export type MapperDevice = (path: string) => Promise<string | undefined>;

const statMapperDevice: MapperDevice = async (path) => {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined || !info.isBlockDevice()) return undefined;
  return majorMinor(info.rdev);
};

/**
 * A mount's source is free text (fusermount's fsname= lets any user write "/dev/mapper/data" there): when the
 * mapping's device node is there, the mount's device number decides; the source names it only otherwise.
 */
export async function isMapping(entry: MountEntry, mapName: string, deviceOf: MapperDevice = statMapperDevice): Promise<boolean> {
  const mapper = mapperPath(mapName);
  const device = await deviceOf(mapper);
  if (device !== undefined) return entry.majorMinor === device;
  if (entry.source === mapper) return true;
  return (await canonical(entry.source)) === (await canonical(mapper));
}

/** `sysRoot` (tests: LUKS_SSM_SYS_ROOT) is where the kernel's device-mapper devices are listed, /sys otherwise. */
export async function inspectVolume(run: Runner, config: VolumeConfig, mountinfoPath: string = MOUNTINFO_PATH, sysRoot?: string): Promise<VolumeState> {
  const mapping = await mappingStatus(run, config.mapName, { sysRoot });
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
