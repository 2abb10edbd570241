// Runs one volume verb and prints its result; the work itself lives in unlock/lock/status/check.
// Each verb's modules load when it runs (a lazy require in the bundle): start-up time is boot time.
import { exitCodeOf } from '../errors.ts';
import { withSecret } from '../secret/secret.ts';
import { firstKey } from '../secret/source.ts';
import { describeDependents } from '../systemd/dependents.ts';
import type { createLazyBus } from './wiring.ts';
import type { Command, VolumeVerb } from './args.ts';
import type { VolumeDeps } from '../volume/deps.ts';
import type { VolumeConfig } from '../types.ts';

type VolumeCommand = Extract<Command, { verb: VolumeVerb }>;

export interface VerbIo {
  bus: ReturnType<typeof createLazyBus>;
  /** Text, or the recovery key's bytes (recovery-key: never made a string). */
  stdout(text: string | Buffer): void;
  /** For the lifecycle verbs, which call AWS themselves. */
  env?: Record<string, string | undefined>;
  /** recovery-key shows the key only to a terminal. */
  stdoutIsTty?: boolean;
}

export async function runVolumeVerb(command: VolumeCommand, config: VolumeConfig, deps: VolumeDeps, io: VerbIo): Promise<number> {
  switch (command.verb) {
    case 'start': {
      const { startVolume } = await import('../volume/start.ts');
      await startVolume(deps, config);
      return exitCodeOf('OK');
    }
    case 'stop': {
      const { stopVolume } = await import('../volume/stop.ts');
      await stopVolume(deps, config);
      return exitCodeOf('OK');
    }
    case 'status': {
      const { formatVolumeStatus, readVolumeStatus } = await import('../volume/status.ts');
      const status = await readVolumeStatus(deps, config, async (c) => describeDependents(await io.bus.get(), c));
      io.stdout(command.json ? `${JSON.stringify(status, null, 2)}\n` : formatVolumeStatus(status));
      return exitCodeOf(status.active ? 'OK' : 'NOT_ACTIVE');
    }
    case 'check': {
      const { checkVolume, formatCheckStep } = await import('../volume/check.ts');
      // Each line as its step ends: a step waiting for a device or for AWS shows what passed before it.
      const report = await checkVolume(deps, config, (step) => io.stdout(formatCheckStep(step)));
      return report.failure ? report.failure.exitCode : exitCodeOf('OK');
    }
    case 'fetch': {
      // Benchmark hook: start-up to key in hand, without touching any device. Prints the size, never the key.
      const key = await firstKey(deps.keySource(config), deps.clock.now() + config.timeoutSec * 1000);
      await withSecret(key.secret, async (secret) => {
        io.stdout(`fetched ${secret.length} bytes from ${key.source}${key.version === undefined ? '' : ` (version ${key.version})`}\n`);
      });
      return exitCodeOf('OK');
    }
    case 'enroll':
    case 'rotate':
    case 'recovery-key': {
      const { runLifecycleVerb } = await import('../lifecycle/cli.ts');
      return runLifecycleVerb(command.verb, command.lifecycle!, config, deps, { stdout: io.stdout, env: io.env ?? {}, stdoutIsTty: io.stdoutIsTty ?? false });
    }
    case 'migrate': {
      const { runMigrate } = await import('../lifecycle/migrate.ts');
      return runMigrate(config, command.lifecycle?.apply ?? false, deps, { stdout: io.stdout, env: io.env ?? {} });
    }
    case 'enable':
    case 'disable': {
      const { runUnitVerb } = await import('./unit-verbs.ts');
      return runUnitVerb(command.verb, config, deps, io);
    }
  }
}
