// Runs enroll and rotate for the CLI: reads the existing passphrase (stdin or a file) and prints what was done.
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { exitCodeOf, UnlockError } from '../errors.ts';
import { Secret, SECRET_MAX_BYTES } from '../secret/secret.ts';
import type { VolumeDeps } from '../volume/deps.ts';
import type { VolumeConfig } from '../types.ts';
import type { LifecycleFlags } from './args.ts';
import { enrollVolume } from './enroll.ts';
import { addRecoveryKey } from './recovery.ts';
import { openRecoveryOutput } from './recovery-output.ts';
import { rotateVolume } from './rotate.ts';
import type { LifecycleDeps, LifecycleReport } from './steps.ts';

export interface LifecycleIo {
  /** Text, or the recovery key's bytes (written as they are, never turned into a string). */
  stdout: (text: string | Buffer) => void;
  stdoutIsTty?: boolean;
  env: Record<string, string | undefined>;
  /** All of stdin as bytes; undefined when stdin is a terminal (a typed key would echo). */
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
    const existingKey = flags.addToExisting ? await readExistingKey(flags.existingKeyFile, io) : undefined;
    report = await enrollVolume(lifecycle, config, {
      format: flags.format, addToExisting: flags.addToExisting, force: flags.force, dryRun: flags.dryRun, mkfs: flags.mkfs,
      ...(existingKey === undefined ? {} : { existingKey }),
    }).catch(async (error: unknown) => {
      await output?.abandon();
      throw error;
    });
    if (output !== undefined) {
      const added = await addRecoveryKey(lifecycle, config, output);
      report = { lines: [...report.lines, ...added.lines], changed: true };
    }
  }
  io.stdout(report.lines.map((line) => `${line}\n`).join('') || `nothing to do\n`);
  return exitCodeOf('OK');
}

/** The key bytes exactly as given (no newline stripping: `--key-file` semantics, like cryptsetup's). */
async function readExistingKey(file: string | undefined, io: LifecycleIo): Promise<Secret> {
  let bytes: Buffer | undefined;
  if (file !== undefined) {
    bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
      throw new UnlockError(error.code === 'EACCES' ? 'PERMISSION' : 'USAGE', `Failed to read --existing-key-file ${file}: ${error.code ?? 'error'}`);
    });
  } else {
    bytes = await (io.readStdin ?? readProcessStdin)();
    if (bytes === undefined) {
      throw new UnlockError('USAGE', '--add-to-existing reads the existing passphrase from stdin, which is a terminal, refusing', {
        hint: 'pipe it in, or pass --existing-key-file FILE',
      });
    }
  }
  if (bytes.length === 0 || bytes.length > SECRET_MAX_BYTES) {
    bytes.fill(0);
    throw new UnlockError('USAGE', 'The existing passphrase is empty or larger than 16 MiB, refusing');
  }
  return Secret.adopt(bytes);
}

async function readProcessStdin(): Promise<Buffer | undefined> {
  if (process.stdin.isTTY) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size > SECRET_MAX_BYTES) break;
  }
  const all = Buffer.concat(chunks);
  for (const chunk of chunks) chunk.fill(0);
  return all;
}
