// Shared plumbing for enroll and rotate: named steps, the test hook after each, and what the lifecycle verbs need.
import { resolveDevice } from '../device/resolve.ts';
import type { RunLock } from '../volume/deps.ts';
import type { Clock, Logger, Runner, VolumeConfig } from '../types.ts';

export interface LifecycleDeps {
  run: Runner;
  clock: Clock;
  log: Logger;
  env: Record<string, string | undefined>;
  hostname: string;
  devRoot?: string;
  /** The host lock start takes around key-slot work. */
  acquireLock(deadline: number): Promise<RunLock>;
  /** The volume locks start and stop take, so a rotation never races an unlock or a stop of the same volume. */
  acquireVolumeLock(config: VolumeConfig, deadline: number): Promise<RunLock>;
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
export function resolveLifecycleDevice(deps: LifecycleDeps, config: VolumeConfig): Promise<string> {
  return resolveDevice(config.device, {
    deadline: deps.clock.now() + config.deviceTimeoutSec * 1000,
    clock: deps.clock,
    ...(deps.devRoot === undefined ? {} : { devRoot: deps.devRoot }),
    allowRegularFile: true,
  });
}

/**
 * The volume's locks, then the host lock (the order start takes them in, so never a deadlock), both for the whole
 * verb: enroll and rotate write argon2 key slots at several points. A verb run by hand during an AWS outage
 * therefore holds back other volumes' key-slot work until its deadline.
 */
export async function withLock<T>(deps: LifecycleDeps, config: VolumeConfig, use: () => Promise<T>): Promise<T> {
  const deadline = deps.clock.now() + config.timeoutSec * 1000;
  const volumeLock = await deps.acquireVolumeLock(config, deadline);
  try {
    const hostLock = await deps.acquireLock(deadline);
    try {
      return await use();
    } finally {
      await hostLock.release();
    }
  } finally {
    await volumeLock.release();
  }
}
