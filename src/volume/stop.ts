// `stop`: unmount (never forced; if busy, name who holds it and change nothing), then close the mapping.
import { stat } from 'node:fs/promises';
import { isUnlockError, UnlockError } from '../errors.ts';
import { closeLuks } from '../luks/cryptsetup.ts';
import { findHolders, HOLDER_SCAN_BUDGET_MS } from '../mount/holders.ts';
import { mountsInOtherNamespaces, peerGroupsOf } from '../mount/other-namespaces.ts';
import { unmountFilesystem } from '../mount/mount.ts';
import { MOUNTINFO_PATH, type MountEntry } from '../mount/mountinfo.ts';
import { isSameBlockDevice, majorMinor } from '../device/device-number.ts';
import { resolveDevice } from '../device/resolve.ts';
import { checkMapName } from '../config/validate.ts';
import { readUnlockRecord, removeUnlockRecord } from './unlock-record.ts';
import { inspectVolume, mapperPath, type VolumeState } from './inspect.ts';
import type { RunLock, VolumeDeps } from './deps.ts';
import type { VolumeConfig } from '../types.ts';

export type StopOutcome = 'already-closed' | 'closed';

/** Stop gets its own short deadline: the unit's TimeoutStopSec bounds it too, and nothing here is remote. */
const STOP_TIMEOUT_MS = 60_000;

export async function stopVolume(deps: VolumeDeps, config: VolumeConfig): Promise<StopOutcome> {
  const { log, run, clock } = deps;
  const deadline = clock.now() + STOP_TIMEOUT_MS;
  const lock = await deps.acquireVolumeLock(config, deadline);
  try {
    const state = await inspectVolume(run, config, deps.mountinfoPath, deps.sysRoot);
    if (!state.mapping.active) {
      await refuseIfRenamedMappingOpen(deps, config);
      if (state.mountAtTarget) {
        log.warn({ volume: config.volume }, `${config.mountPoint} has ${state.mountAtTarget.source} mounted, not ${mapperPath(config.mapName)}: leaving it alone`);
      }
      await removeUnlockRecord(deps.runDir, config.volume);
      log.info({ volume: config.volume }, `${config.volume} is not open, nothing to do`);
      return 'already-closed';
    }
    await refuseUnlessOwnMapping(deps, config, state.mapping.device);
    const deviceLock = await lockMappedDevice(deps, config, state.mapping.device, deadline);
    try {
      return await unmountAndClose(deps, config, state, deadline);
    } finally {
      await deviceLock.release();
    }
  } finally {
    await lock.release();
  }
}

/**
 * LUKS_DEVICE_MAP edited while the volume is open (review 15): the mapping its start opened, named in the unlock
 * record, is still open under the old name. Calling the volume closed would leave it open and mounted with the unit
 * inactive, and forget the record that says whose it is.
 */
async function refuseIfRenamedMappingOpen(deps: VolumeDeps, config: VolumeConfig): Promise<void> {
  const record = await readUnlockRecord(deps.runDir, config.volume).catch(() => undefined);
  if (record === undefined || record.mapName === config.mapName || checkMapName(String(record.mapName)) !== undefined) return;
  const opened = await inspectVolume(deps.run, { ...config, mapName: record.mapName }, deps.mountinfoPath, deps.sysRoot);
  // A mapping of that name on another disk is not the one this start opened: the record is stale (review 17).
  if (!opened.mapping.active || (opened.mapping.device !== undefined && !(await isSameBlockDevice(record.device, opened.mapping.device)))) return;
  throw new UnlockError('CONFIG', `LUKS_DEVICE_MAP is ${config.mapName} in ${config.sources.at(-1)}, but ${mapperPath(record.mapName)}, which this volume's start opened, is still open, refusing to call ${config.volume} closed`, {
    hint: `set LUKS_DEVICE_MAP=${record.mapName} again and stop ${config.volume}, then make the change`,
  });
}

async function unmountAndClose(deps: VolumeDeps, config: VolumeConfig, state: VolumeState, deadline: number): Promise<StopOutcome> {
  const { log, run, clock } = deps;
  const ours = [...(state.mountedHere && state.mountAtTarget ? [state.mountAtTarget] : []), ...state.mountedElsewhere];
  // Ids from a mountinfo file other than the kernel's (tests) mean nothing to the kernel: there the path decides.
  const byId = (deps.mountinfoPath ?? MOUNTINFO_PATH) === MOUNTINFO_PATH;
  await refuseIfMountedInOtherNamespaces(deps, config, ours);
  for (const { target: where, mountId } of ours) {
    const result = await unmountFilesystem(run, where, { timeoutMs: Math.max(1, deadline - clock.now()), mountId: byId ? mountId : undefined });
    if (result === 'busy') throw await busyError(deps, where);
    log.info({ volume: config.volume, mountPoint: where }, `unmounted ${where}`);
  }
  await closeLuks(run, config.mapName);
  await removeUnlockRecord(deps.runDir, config.volume);
  log.info({ volume: config.volume }, `closed ${mapperPath(config.mapName)}`);
  return 'closed';
}

/**
 * Stop unmounts and closes the mapping only when it is this volume's: open on the device LUKS_DEVICE names now, or
 * on the one this volume's start opened (its unlock record: LUKS_DEVICE may have been edited since). A mapping of
 * that name on another disk (a crypttab line, a hand `cryptsetup open`, a second config reusing the name) belongs to
 * someone else: start refuses it, and so does stop (review 13). A mapping whose disk node is gone has nothing to
 * compare, and is this volume's to close.
 */
async function refuseUnlessOwnMapping(deps: VolumeDeps, config: VolumeConfig, openOn: string | undefined): Promise<void> {
  if (openOn === undefined) return;
  const record = await readUnlockRecord(deps.runDir, config.volume).catch(() => undefined);
  if (record !== undefined && record.mapName === config.mapName && (await isSameBlockDevice(record.device, openOn))) return;
  // Not waited for: a disk that is there resolves at once, and one that is not is not the one the mapping is on.
  const configured = await resolveDevice(config.device, { deadline: deps.clock.now(), clock: deps.clock, devRoot: deps.devRoot }).catch(() => undefined);
  if (configured !== undefined && (await isSameBlockDevice(configured, openOn))) return;
  throw new UnlockError('MOUNT_REFUSED', `${mapperPath(config.mapName)} is open on ${openOn}, not on the configured ${configured ?? config.device} nor on the disk this volume's start opened, refusing to unmount or close it`, {
    hint: `if it is this volume's after all, unmount it and run cryptsetup close ${config.mapName} by hand; else fix LUKS_DEVICE_MAP`,
  });
}

/**
 * The lock of the device the mapping is open on (what stop closes, whatever LUKS_DEVICE says by now). A device whose
 * node is gone (detached) needs none: no other run can resolve it to work on it.
 */
async function lockMappedDevice(deps: VolumeDeps, config: VolumeConfig, device: string | undefined, deadline: number): Promise<RunLock> {
  const none = { release: async () => {} };
  if (device === undefined) return none;
  try {
    return await deps.acquireDeviceLock(device, config.volume, deadline);
  } catch (error) {
    if (isUnlockError(error) && error.kind === 'DEVICE_MISSING') return none;
    throw error;
  }
}

/**
 * A copy of the mount in another mount namespace (a user's unshare -Urm: a private copy, which our umount does not
 * reach) keeps the volume in use, decrypted and writable there: refuse (81) before unmounting anything, naming it
 * (review 15). The scan is bounded; one that finds nothing in time lets stop go on, and close says if it is busy.
 */
async function refuseIfMountedInOtherNamespaces(deps: VolumeDeps, config: VolumeConfig, ours: MountEntry[]): Promise<void> {
  const device = ours[0]?.majorMinor ?? (await stat(mapperPath(config.mapName)).then((s) => majorMinor(s.rdev), () => undefined));
  if (device === undefined) return;
  const { holders } = await mountsInOtherNamespaces(device, { procRoot: deps.procRoot, budgetMs: HOLDER_SCAN_BUDGET_MS, ourGroups: peerGroupsOf(ours) });
  if (holders.length === 0) return;
  const described = await Promise.all(holders.map(async (h) => {
    const unit = await deps.unitOfPid(h.pid);
    return `pid ${h.pid} (${h.command})${unit ? ` in unit ${unit}` : ''} has it on ${h.target}`;
  }));
  const first = holders[0]!;
  throw new UnlockError('BUSY', `${mapperPath(config.mapName)} is mounted in another mount namespace too: ${described.join('; ')}; our unmount would not reach it, left mounted and open`, {
    hint: `end that process, or unmount it there (nsenter -t ${first.pid} -m umount ${first.target}), then stop again`,
  });
}

async function busyError(deps: VolumeDeps, mountPoint: string): Promise<UnlockError> {
  const { holders, complete } = await findHolders(mountPoint, { procRoot: deps.procRoot });
  const described = await Promise.all(
    holders.map(async (h) => {
      const unit = await deps.unitOfPid(h.pid);
      return `pid ${h.pid} (${h.command})${unit ? ` in unit ${unit}` : ''}`;
    }),
  );
  const who = described.length > 0
    ? `held by ${described.join(', ')}${complete ? '' : ' and maybe others'}`
    : complete ? 'held by a process luks-ssm cannot see (a bind mount or another namespace?)' : 'held by a process not found yet';
  const cut = complete ? '' : ` (the scan of processes stopped after ${HOLDER_SCAN_BUDGET_MS / 1000} s: fuser -vm ${mountPoint} lists them all)`;
  return new UnlockError('BUSY', `${mountPoint} is busy, ${who}${cut}; left mounted and open`, {
    hint: 'stop those processes (or order their units after this volume), then stop again',
  });
}
