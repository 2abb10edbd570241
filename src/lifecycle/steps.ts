// Shared plumbing for enroll and rotate: named steps, the test hook after each, and what the lifecycle verbs need.
import { resolveDevice } from '../device/resolve.ts';
import { refuseIfIdAmbiguous } from '../device/same-id.ts';
import type { RunLock } from '../volume/deps.ts';
import type { Clock, Logger, Runner, VolumeConfig } from '../types.ts';

export interface LifecycleDeps {
  run: Runner;
  clock: Clock;
  log: Logger;
  env: Record<string, string | undefined>;
  hostname: string;
  devRoot?: string;
  /** Where the kernel lists device-mapper devices (tests: LUKS_SSM_SYS_ROOT), /sys otherwise. */
  sysRoot?: string;
  /** udev's database of block devices (tests), /run/udev/data otherwise. */
  udevDataDir?: string;
  /** The host lock start takes around key-slot work. */
  acquireLock(deadline: number): Promise<RunLock>;
  /** The volume locks start and stop take, so a rotation never races an unlock or a stop of the same volume. */
  acquireVolumeLock(config: VolumeConfig, deadline: number): Promise<RunLock>;
  /** The device's lock start, stop and check take: another config naming the same disk never works on it meanwhile. */
  acquireDeviceLock(device: string, holder: string, deadline: number): Promise<RunLock>;
  /** Tests interrupt a run here: a throw after step `name` is a crash at that point. */
  afterStep?: (name: string) => void | Promise<void>;
}

export interface LifecycleReport {
  /** One line per thing done (or, with dryRun, to be done), in order. */
  lines: string[];
  changed: boolean;
}

export function createReport(): LifecycleReport & { say(line: string): void } {
  const report = { lines: [] as string[], changed: false, say: (line: string) => void report.lines.push(line) };
  return report;
}

/** Logs the step, runs it, then gives the test hook its chance to "crash". */
export async function step(deps: LifecycleDeps, report: { say(line: string): void; changed: boolean }, name: string, line: string, action: () => Promise<void>): Promise<void> {
  await action();
  report.changed = true;
  report.say(line);
  deps.log.debug({ step: name }, line);
  await deps.afterStep?.(name);
}

/** Lifecycle verbs may run on image files too (tests, offline preparation). */
export async function resolveLifecycleDevice(deps: LifecycleDeps, config: VolumeConfig): Promise<string> {
  const device = await resolveDevice(config.device, {
    deadline: deps.clock.now() + config.deviceTimeoutSec * 1000,
    clock: deps.clock,
    ...(deps.devRoot === undefined ? {} : { devRoot: deps.devRoot }),
    allowRegularFile: true,
  });
  // A key slot written to (or removed from) a restored copy instead of the volume leaves the volume without the stored key.
  await refuseIfIdAmbiguous(config.device, device, { sysRoot: deps.sysRoot, udevDataDir: deps.udevDataDir });
  return device;
}

/**
 * The volume's locks and the resolved `device`'s lock for the whole verb (a rotation never races an unlock or a stop
 * of the same volume, nor of another config naming the same disk); `use` gets deps whose runner takes the host lock
 * around each cryptsetup call, as start does around its open: enroll, rotate and recovery-key write and test argon2
 * key slots (GiBs each), but between those calls they may wait on AWS, and other volumes must open meanwhile. Volume
 * locks, then the device lock, then the host lock, as start takes them: never a deadlock (src/volume/device-lock.ts).
 */
export async function withLock<T>(deps: LifecycleDeps, config: VolumeConfig, device: string, use: (deps: LifecycleDeps) => Promise<T>): Promise<T> {
  const deadline = deps.clock.now() + config.timeoutSec * 1000;
  const volumeLock = await deps.acquireVolumeLock(config, deadline);
  try {
    const deviceLock = await deps.acquireDeviceLock(device, config.volume, deadline);
    try {
      return await use({ ...deps, run: cryptsetupUnderHostLock(deps, config.timeoutSec * 1000) });
    } finally {
      await deviceLock.release();
    }
  } finally {
    await volumeLock.release();
  }
}

/** Each call waits up to `waitMs` for the host lock: a verb slowed past TIMEOUT_SEC by AWS must not fail its next step at once. */
function cryptsetupUnderHostLock(deps: LifecycleDeps, waitMs: number): Runner {
  return async (file, args, options) => {
    if (file !== 'cryptsetup') return deps.run(file, args, options);
    const hostLock = await deps.acquireLock(deps.clock.now() + waitMs);
    try {
      return await deps.run(file, args, options);
    } finally {
      await hostLock.release();
    }
  };
}
