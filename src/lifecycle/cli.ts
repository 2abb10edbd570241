// Runs enroll and rotate for the CLI: gets the existing passphrase (file, pipe or terminal) and prints what was done.
import { hostname } from 'node:os';
import { refuseSharedSettings } from '../config/shared.ts';
import { exitCodeOf } from '../errors.ts';
import type { VolumeDeps } from '../volume/deps.ts';
import type { VolumeConfig } from '../types.ts';
import type { LifecycleFlags } from './args.ts';
import { enrollVolume } from './enroll.ts';
import { readExistingKey } from './existing-key.ts';
import { addRecoveryKey } from './recovery.ts';
import { openRecoveryOutput } from './recovery-output.ts';
import { rotateVolume } from './rotate.ts';
import type { LifecycleDeps, LifecycleReport } from './steps.ts';

export interface LifecycleIo {
  /** Text, or the recovery key's bytes (written as they are, never turned into a string). */
  stdout: (text: string | Buffer) => void;
  stdoutIsTty?: boolean;
  env: Record<string, string | undefined>;
  /** All of stdin as bytes; undefined when stdin is a terminal (the passphrase is then asked for without echo, not read). */
  readStdin?: () => Promise<Buffer | undefined>;
}

export async function runLifecycleVerb(verb: 'enroll' | 'rotate' | 'recovery-key', flags: LifecycleFlags, config: VolumeConfig, deps: VolumeDeps, io: LifecycleIo): Promise<number> {
  const lifecycle: LifecycleDeps = {
    run: deps.run, clock: deps.clock, log: deps.log, env: io.env, hostname: hostname(),
    acquireLock: (deadline) => deps.acquireLock(deadline),
    acquireVolumeLock: (c, deadline) => deps.acquireVolumeLock(c, deadline),
    acquireDeviceLock: (device, holder, deadline) => deps.acquireDeviceLock(device, holder, deadline),
    ...(deps.devRoot === undefined ? {} : { devRoot: deps.devRoot }),
    ...(deps.sysRoot === undefined ? {} : { sysRoot: deps.sysRoot }),
  };
  // Another volume's parameter: enroll would take its live key for an interrupted enroll, and each rotation of one
  // leaves the other's key slot behind (review 16).
  if (verb !== 'recovery-key') refuseSharedSettings(config, ((await deps.sharedSettings?.(config)) ?? []).filter((s) => s.key === 'SSM_PATH'));
  // Opened first: a refusal (stdout no terminal, --output exists) must come before anything changes.
  const output = verb === 'recovery-key' || flags.recoveryKey
    ? await openRecoveryOutput({ file: flags.output, stdoutIsTty: io.stdoutIsTty ?? false, stdout: io.stdout })
    : undefined;
  let report: LifecycleReport;
  if (verb === 'recovery-key') {
    report = await addRecoveryKey(lifecycle, config, output!);
  } else if (verb === 'rotate') {
    report = await rotateVolume(lifecycle, config, { dryRun: flags.dryRun });
  } else {
    try {
      report = await enrollVolume(lifecycle, config, {
        format: flags.format, addToExisting: flags.addToExisting, force: flags.force, dryRun: flags.dryRun, mkfs: flags.mkfs,
        ...(flags.addToExisting
          ? { existingKey: () => readExistingKey({ file: flags.existingKeyFile, volume: config.volume, device: config.device, timeoutSec: config.timeoutSec, readStdin: io.readStdin, askPassword: deps.askPassword }) }
          : {}),
      });
    } catch (error) {
      // Also when no existing passphrase came: a --output file made for the recovery key is removed again.
      await output?.abandon();
      throw error;
    }
    if (output !== undefined) {
      const added = await addRecoveryKey(lifecycle, config, output);
      report = { lines: [...report.lines, ...added.lines], changed: true };
    }
  }
  io.stdout(report.lines.map((line) => `${line}\n`).join('') || `nothing to do\n`);
  return exitCodeOf('OK');
}
