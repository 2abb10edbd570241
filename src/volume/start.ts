// `start`: config → device → key (AWS, or typed when AWS fails) → cryptsetup open → mount, idempotent, inside one deadline.
import { UnlockError } from '../errors.ts';
import { isSameBlockDevice } from '../device/device-number.ts';
import { resolveDevice } from '../device/resolve.ts';
import { refuseIfIdAmbiguous } from '../device/same-id.ts';
import { recordedErrors } from '../mount/fs-errors.ts';
import { mountFilesystem } from '../mount/mount.ts';
import { checkMountPoint, openMountPoint } from '../mount/mount-point.ts';
import { readUnlockRecord, writeUnlockRecord, type UnlockRecord } from './unlock-record.ts';
import { inspectVolume, mapperPath } from './inspect.ts';
import type { RunLock, VolumeDeps } from './deps.ts';
import { StartStatus } from './start-status.ts';
import { beforeDeadline, refuseForeignMapping, refuseForeignMountAtTarget, refuseIfDependentsRunning, refuseIfInUse, refuseIfNotLuks } from './start-refusals.ts';
import { openWithAwsOrTypedKey } from './unlock-race.ts';
import type { VolumeConfig } from '../types.ts';

export type StartOutcome = 'already-mounted' | 'mounted-open-volume' | 'unlocked';

export async function startVolume(deps: VolumeDeps, config: VolumeConfig): Promise<StartOutcome> {
  const { log, clock, run } = deps;
  const deadline = clock.now() + config.timeoutSec * 1000;
  const status = new StartStatus(deps.statusLine, clock, deadline);
  // The device as it is before any wait (at boot the disk is there before luks-ssm): its lock then comes with the
  // volume locks, one process for all of them (issue #13).
  const present = await resolveDevice(config.device, { deadline: 0, clock, devRoot: deps.devRoot }).catch(() => undefined);
  // Asked of systemd now, answered while the locks are taken (the answer needs none of them); a failure waits for
  // its turn below.
  const askDependents = () => {
    const answer = config.requiredBy.length === 0 ? Promise.resolve([]) : deps.activeDependents(config.requiredBy);
    answer.catch(() => undefined);
    return answer;
  };
  let dependentsRunning = askDependents();
  // Loading the SDK and fetching credentials need no secret and no lock: begun now, they run while the lock process
  // execs its flocks (0.3-0.6 s under TCG) and the checks below wait on D-Bus and the device (issue #13). The key
  // itself is still fetched only after every check.
  const keySource = deps.keySource(config);
  const warmUp = keySource.warmUp?.(deadline);
  let lock: Awaited<ReturnType<VolumeDeps['acquireVolumeLock']>>;
  try {
    lock = await deps.acquireVolumeLock(config, deadline, present);
  } catch (error) {
    warmUp?.stop();
    throw error;
  }
  // Another run held the locks first: a stop it made stopped the dependents after systemd answered, so ask again.
  if (lock.waited) dependentsRunning = askDependents();
  let deviceLock: RunLock | undefined;
  try {
    const state = await inspectVolume(run, config, deps.mountinfoPath, deps.sysRoot);
    if (state.mountedHere) {
      // Mounted where it belongs, but maybe another disk's mapping of the same name (review 13): start would refuse
      // that mapping if it were not mounted yet, so it does here too.
      const device = await resolveDevice(config.device, {
        deadline: Math.min(deadline, clock.now() + config.deviceTimeoutSec * 1000), clock, devRoot: deps.devRoot,
      });
      await refuseForeignMapping(state.mapping.device, device, config);
      log.info({ volume: config.volume, mountPoint: config.mountPoint }, `${config.volume} is already open and mounted at ${config.mountPoint}, nothing to do`);
      return 'already-mounted';
    }
    refuseForeignMountAtTarget(state, config);
    refuseIfDependentsRunning(config, await beforeDeadline(dependentsRunning, deadline, clock, `systemd's answer about ${config.requiredBy.join(', ')}`));

    status.device(config.device);
    const device = await resolveDevice(config.device, {
      deadline: Math.min(deadline, clock.now() + config.deviceTimeoutSec * 1000),
      clock,
      devRoot: deps.devRoot,
    });
    await refuseIfIdAmbiguous(config.device, device, { sysRoot: deps.sysRoot, udevDataDir: deps.udevDataDir });
    // Once resolved (it may appear only now): another config may name this disk by another path.
    status.device(`the lock of ${device} (another luks-ssm run may hold it)`);
    deviceLock = await deps.acquireDeviceLock(device, config.volume, deadline, lock.device);
    if (state.mapping.active) {
      await refuseForeignMapping(state.mapping.device, device, config);
      log.info({ volume: config.volume }, `${mapperPath(config.mapName)} is already open, mounting it`);
      await mountVolume(deps, config, deadline);
      await recordMountOfOpenVolume(deps, config, device);
      return 'mounted-open-volume';
    }
    await refuseIfInUse(device, config, deps);
    await refuseIfNotLuks(run, device, config, remaining(deadline, clock.now()));
    // Refuse a bad mount point before fetching any key (creating nothing yet); mountVolume opens it, makes it if
    // missing, and checks it again to mount onto it.
    checkMountPoint(config.mountPoint, { allowNonEmpty: config.mountOverNonEmpty });

    status.deviceFound();
    const key = await openWithAwsOrTypedKey(deps, config, keySource, device, deadline, status);
    // Nothing is waited for once the volume is open: the status line's clear (a systemd-notify) runs beside the
    // mount instead of after it (issue #13); `finally` waits for it.
    void status.clear();
    await mountVolume(deps, config, deadline);
    await recordUnlock(deps, {
      volume: config.volume,
      device,
      mapName: config.mapName,
      mountPoint: config.mountPoint,
      source: key.source,
      version: key.version,
      region: key.region,
      unlockedAt: new Date(clock.now()).toISOString(),
    });
    return 'unlocked';
  } finally {
    warmUp?.stop();
    await status.clear();
    await deviceLock?.release();
    // Not handed on when start ended before the device's turn (releasing it twice closes nothing).
    await lock.device?.lock.release();
    await lock.release();
  }
}

/** The record only lets `status` name the version that opened the volume: a full /run must not fail a start that mounted. */
async function recordUnlock(deps: VolumeDeps, record: UnlockRecord): Promise<void> {
  try {
    await writeUnlockRecord(deps.runDir, record);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'error';
    deps.log.warn({ volume: record.volume, runDir: deps.runDir, reason },
      `Failed to write the unlock record in ${deps.runDir} (${reason}), ignoring: status will not name the version that opened ${record.volume}`);
  }
}

/**
 * A record of its own for a mapping this start only mounted (stop reads which disk it is on): the one an earlier start
 * left, with the version that opened it, stays when it names the same mapping and disk; nothing says which key did.
 */
async function recordMountOfOpenVolume(deps: VolumeDeps, config: VolumeConfig, device: string): Promise<void> {
  const earlier = await readUnlockRecord(deps.runDir, config.volume).catch(() => undefined);
  if (earlier !== undefined && earlier.mapName === config.mapName && (await isSameBlockDevice(earlier.device, device))) return;
  await recordUnlock(deps, {
    volume: config.volume,
    device,
    mapName: config.mapName,
    mountPoint: config.mountPoint,
    source: 'a key unknown to luks-ssm (the mapping was open before this start mounted it)',
    version: undefined,
    region: undefined,
    unlockedAt: new Date(deps.clock.now()).toISOString(),
  });
}

async function mountVolume(deps: VolumeDeps, config: VolumeConfig, deadline: number): Promise<void> {
  const point = openMountPoint(config.mountPoint, { mode: config.mountPointMode, allowNonEmpty: config.mountOverNonEmpty, log: deps.log });
  try {
    await mountFilesystem(deps.run, {
      source: mapperPath(config.mapName),
      point,
      fsType: config.fsType,
      options: config.mountOptions,
      timeoutMs: remaining(deadline, deps.clock.now()),
      mountinfoPath: deps.mountinfoPath,
    });
  } finally {
    point.close();
  }
  deps.log.info({ volume: config.volume, mountPoint: config.mountPoint, options: config.mountOptions }, `mounted ${mapperPath(config.mapName)} on ${config.mountPoint}`);
  await warnIfErrorsRecorded(deps, config, deadline);
}

/** Mounted, but the kernel or a past fsck recorded errors in it: fsck needs it unmounted, so only a person can choose when. */
async function warnIfErrorsRecorded(deps: VolumeDeps, config: VolumeConfig, deadline: number): Promise<void> {
  const device = mapperPath(config.mapName);
  const state = await recordedErrors(deps.run, device, config.fsType, deadline - deps.clock.now());
  if (state === undefined) return;
  deps.log.warn({ volume: config.volume, device, state },
    `${device} has errors recorded (filesystem state: ${state}), mounted it anyway: run fsck -f ${device} while it is unmounted (umount ${config.mountPoint} first; luks-ssm start ${config.volume} mounts it again)`);
}

function remaining(deadline: number, now: number): number {
  return Math.max(1, deadline - now);
}
