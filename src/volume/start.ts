// `start`: config → device → key → cryptsetup open → mount, idempotent, inside one deadline.
import { isUnlockError, UnlockError } from '../errors.ts';
import { resolveDevice } from '../device/resolve.ts';
import { isLuks, openLuks } from '../luks/cryptsetup.ts';
import { mountFilesystem } from '../mount/mount.ts';
import { openMountPoint } from '../mount/mount-point.ts';
import { withSecret } from '../secret/secret.ts';
import type { FetchedKey } from '../secret/source.ts';
import { writeUnlockRecord } from './unlock-record.ts';
import { inspectVolume, mapperPath } from './inspect.ts';
import type { VolumeDeps } from './deps.ts';
import { explainTooCostly } from './slot-cost.ts';
import type { VolumeConfig } from '../types.ts';

export type StartOutcome = 'already-mounted' | 'mounted-open-volume' | 'unlocked';

export async function startVolume(deps: VolumeDeps, config: VolumeConfig): Promise<StartOutcome> {
  const { log, clock, run } = deps;
  const deadline = clock.now() + config.timeoutSec * 1000;
  const lock = await deps.acquireLock(deadline);
  try {
    const state = await inspectVolume(run, config, deps.mountinfoPath);
    if (state.mountedHere) {
      log.info({ volume: config.volume, mountPoint: config.mountPoint }, `${config.volume} is already open and mounted at ${config.mountPoint}, nothing to do`);
      return 'already-mounted';
    }
    if (state.mountAtTarget) {
      throw new UnlockError('MOUNT_REFUSED', `${config.mountPoint} already has ${state.mountAtTarget.source} mounted on it, refusing`, {
        hint: `unmount it or choose another LUKS_DEVICE_MOUNT_POINT`,
      });
    }
    await refuseIfDependentsRunning(deps, config);

    const device = await resolveDevice(config.device, {
      deadline: Math.min(deadline, clock.now() + config.deviceTimeoutSec * 1000),
      clock,
      devRoot: deps.devRoot,
    });
    if (state.mapping.active) {
      await refuseForeignMapping(state.mapping.device, device, config);
      log.info({ volume: config.volume }, `${mapperPath(config.mapName)} is already open, mounting it`);
      await mountVolume(deps, config, deadline);
      return 'mounted-open-volume';
    }
    if (!(await isLuks(run, device))) {
      throw new UnlockError('NOT_LUKS', `${device} (LUKS_DEVICE=${config.device}) is not a LUKS volume, refusing to touch it`, {
        hint: 'check LUKS_DEVICE; luks-ssm never formats a device',
      });
    }
    // Refuse a bad mount point before fetching any key; mountVolume opens and checks it again to mount onto it.
    openMountPoint(config.mountPoint, { mode: config.mountPointMode, allowNonEmpty: config.mountOverNonEmpty, log: deps.log }).close();

    const key = await openWithFirstKeyThatFits(deps, config, device, deadline);
    await mountVolume(deps, config, deadline);
    await writeUnlockRecord(deps.runDir, {
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
    await lock.release();
  }
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
}

/** A dependent that already runs may have written into the bare mount point: mounting would hide that. */
async function refuseIfDependentsRunning(deps: VolumeDeps, config: VolumeConfig): Promise<void> {
  if (config.requiredBy.length === 0) return;
  const active = await deps.activeDependents(config.requiredBy);
  if (active.length > 0) {
    throw new UnlockError('MOUNT_REFUSED', `${active.join(', ')} already running before ${config.mountPoint} was mounted, refusing`, {
      hint: `stop ${active.join(' ')}, check ${config.mountPoint} on the root disk, then start again`,
    });
  }
}

async function refuseForeignMapping(openOn: string | undefined, device: string, config: VolumeConfig): Promise<void> {
  if (openOn !== undefined && openOn !== device) {
    throw new UnlockError('MOUNT_REFUSED', `${mapperPath(config.mapName)} is open on ${openOn}, not on the configured ${device}, refusing`, {
      hint: `close it (cryptsetup close ${config.mapName}) or fix LUKS_DEVICE_MAP`,
    });
  }
}

/** Tries the source's keys in order (current first); only a wrong passphrase moves on to the next. */
async function openWithFirstKeyThatFits(deps: VolumeDeps, config: VolumeConfig, device: string, deadline: number): Promise<Omit<FetchedKey, 'secret'>> {
  const source = deps.keySource(config);
  let tried = 0;
  for await (const key of source.keys(deadline)) {
    tried += 1;
    const { secret, ...about } = key;
    deps.log.info({ volume: config.volume, device, source: about.source, version: about.version }, `fetched ${describeKey(about)}, opening ${device}`);
    const opened = await withSecret(secret, async (s) => {
      try {
        await openLuks(deps.run, device, config.mapName, s, { timeoutMs: remaining(deadline, deps.clock.now()) });
        return true;
      } catch (error) {
        if (isUnlockError(error) && error.kind === 'WRONG_PASSPHRASE') return false;
        // Out of memory for the slot's argon2: the same at every try and with every key, so one line and stop.
        if (isUnlockError(error) && error.kind === 'SLOT_TOO_COSTLY') throw await explainTooCostly(deps, config, device, error, `open ${device}`);
        throw error;
      }
    });
    if (opened) {
      deps.log.info({ volume: config.volume, device, source: about.source, version: about.version }, `opened ${device} as ${mapperPath(config.mapName)} with ${describeKey(about)}`);
      return about;
    }
    deps.log.warn({ volume: config.volume, device, source: about.source, version: about.version }, `${describeKey(about)} opens no keyslot of ${device}`);
  }
  throw new UnlockError('WRONG_PASSPHRASE', `No keyslot of ${device} opens with ${source.description} (${tried} version${tried === 1 ? '' : 's'} tried)`, {
    hint: 'check SSM_PATH and SSM_PARAMETER_VERSION/LABEL; `luks-ssm check` shows which key the parameter holds',
  });
}

function describeKey(key: Omit<FetchedKey, 'secret'>): string {
  return `${key.source}${key.version === undefined ? '' : ` version ${key.version}`}`;
}

function remaining(deadline: number, now: number): number {
  return Math.max(1, deadline - now);
}
