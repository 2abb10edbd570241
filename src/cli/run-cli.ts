// Dispatches one parsed command to its verb and turns the outcome into output and an exit code.
import { exitCodeOf, printable, toUnlockError, UnlockError } from '../errors.ts';
import { loadVolumeConfig } from '../config/load.ts';
import { DEFAULT_RUN_DIR } from '../volume/unlock-record.ts';
import { checkRunDir } from '../volume/run-dir.ts';
import { priorityPrefix } from '../systemd/journal-stream.ts';
import { parseCommand, type Command } from './args.ts';
import { formatUsage, formatVerbUsage } from './usage.ts';
import { createLazyBus, createVolumeDeps } from './wiring.ts';
import { runVolumeVerb } from './verbs.ts';
import type { Logger } from '../types.ts';

export interface CliContext {
  env: Record<string, string | undefined>;
  /** Text, or the recovery key's bytes (recovery-key: never made a string). */
  stdout(text: string | Buffer): void;
  stderr: (text: string) => void;
  isTty: boolean;
  /** Which of stdout and stderr systemd connected to the journal (lines there carry their priority). */
  journal?: { stdout: boolean; stderr: boolean };
  uid: number;
  version: string;
}

const ROOT_VERBS = new Set(['start', 'stop', 'enable', 'disable', 'enroll', 'rotate', 'recovery-key']);

export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  let command: Command | undefined;
  let log: Logger | undefined;
  const bus = createLazyBus();
  try {
    command = parseCommand(argv);
    if (command.verb === 'help') {
      ctx.stdout(command.topic === undefined ? formatUsage(ctx.version) : formatVerbUsage(ctx.version, command.topic));
      return exitCodeOf('OK');
    }
    if (command.verb === 'version') {
      ctx.stdout(`luks-ssm ${ctx.version}\n`);
      return exitCodeOf('OK');
    }
    if (command.verb === 'generate') {
      const { runGenerator } = await import('./generate.ts');
      return await runGenerator(command.dirs, ctx);
    }
    if (ROOT_VERBS.has(command.verb) && ctx.uid !== 0) {
      throw new UnlockError('PERMISSION', `${command.verb} needs root (cryptsetup, mount and systemd do)`, { hint: `run: sudo luks-ssm ${command.verb} ${command.volume}` });
    }
    const quiet = command.verb === 'status' && command.json;
    // pino loads with the first volume verb: help, version and the boot-time generator never log through it.
    const { createLogger, createSilentLogger } = await import('../log.ts');
    log = quiet ? createSilentLogger() : createLogger({
      pretty: ctx.isTty,
      level: command.verbose || ctx.env.LUKS_SSM_DEBUG ? 'debug' : 'info',
      ...(ctx.journal?.stdout ? { priorityPrefix } : {}),
    });
    const config = await loadVolumeConfig({
      volume: command.volume,
      configFile: command.configFile,
      confDir: ctx.env.LUKS_SSM_CONF_DIR ?? '/etc/luks-ssm',
      defaultsFile: ctx.env.LUKS_SSM_DEFAULTS ?? '/etc/default/luks-ssm',
      env: ctx.env,
    });
    const runDir = ctx.env.LUKS_SSM_RUN_DIR ?? DEFAULT_RUN_DIR;
    if (ctx.env.LUKS_SSM_RUN_DIR !== undefined) checkRunDir(runDir, ctx.uid);
    const deps = createVolumeDeps({ env: ctx.env, log, runDir, bus });
    return await runVolumeVerb(command, config, deps, { bus, stdout: ctx.stdout, env: ctx.env, stdoutIsTty: ctx.isTty });
  } catch (error) {
    return reportFailure(error, command, ctx, log);
  } finally {
    bus.close();
  }
}

function reportFailure(error: unknown, command: Command | undefined, ctx: CliContext, log: Logger | undefined): number {
  const failure = toUnlockError(error);
  const what = command && 'volume' in command ? `${command.verb} ${command.volume}` : command?.verb;
  // printable again as a last guard: one error, one line, whatever a message picked up on its way.
  const line = printable(`luks-ssm${what ? ` ${what}` : ''}: ${failure.message}${failure.hint ? ` (${failure.hint})` : ''}`);
  if (log && !ctx.isTty) log.error({ kind: failure.kind, exitCode: failure.exitCode }, line);
  ctx.stderr(`${ctx.journal?.stderr ? priorityPrefix(50) : ''}${line}\n`);
  if (failure.kind === 'INTERNAL' && ctx.env.LUKS_SSM_DEBUG && error instanceof Error && !(error instanceof SyntaxError)) ctx.stderr(`${(error.stack ?? '').split('\n').map(printable).join('\n')}\n`);
  return failure.exitCode;
}
