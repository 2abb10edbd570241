// The one place that starts programs (the only execa import): no shell, minimal env, bytes on stdin only.
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { execa } from 'execa';
import { UnlockError } from '../errors.ts';
import type { RunOptions, RunResult, Runner } from '../types.ts';
import { refuseWhileEnding, track } from './children.ts';
import { DEFAULT_EXEC_PATH } from './exec-path.ts';

export { DEFAULT_EXEC_PATH } from './exec-path.ts';

/** After a timeout's SIGTERM, how long a child gets before SIGKILL. */
export const KILL_GRACE_MS = 2000;

/** Which package to install when a program is missing (Debian and RPM names agree for these). */
const PACKAGE_OF: Record<string, string> = {
  cryptsetup: 'cryptsetup',
  mount: 'mount or util-linux',
  umount: 'mount or util-linux',
  flock: 'util-linux',
};

/**
 * A Runner that never throws for a non-zero exit or a timeout (the result says so), and throws
 * UnlockError('SYSTEM') only when the program cannot be started at all.
 */
export function createRunner(opts: { path?: string } = {}): Runner {
  const env = { PATH: opts.path ?? DEFAULT_EXEC_PATH, LC_ALL: 'C' };
  return async (file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> => {
    refuseWhileEnding(file);
    const stdin = options.input === undefined ? 'ignore' : 'pipe';
    const child = execa(file, args, {
      encoding: 'utf8',
      env: options.env === undefined ? env : { ...options.env, ...env },
      extendEnv: false,
      shell: false,
      reject: false,
      stripFinalNewline: false,
      // execa's types reject a plain fd as an extra stdio item; at runtime it is dup2'ed into the child as-is.
      stdio: (options.fd3 === undefined
        ? [stdin, 'pipe', 'pipe']
        : [stdin, 'pipe', 'pipe', options.fd3, ...(options.moreFds ?? [])]) as ['ignore' | 'pipe', 'pipe', 'pipe'],
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
      killSignal: 'SIGTERM',
      forceKillAfterDelay: KILL_GRACE_MS,
      // Not execa's per-program signal listeners (they lose a signal that lands as a program ends): children.ts.
      cleanup: false,
    });
    track(child, child);
    if (options.input !== undefined) writeInput(child.stdin, options.input);
    const result = await child;
    if (result.exitCode === undefined && !result.timedOut && result.signal === undefined) {
      throw startFailure(file, result.cause);
    }
    return {
      exitCode: result.exitCode ?? -1,
      stdout: typeof result.stdout === 'string' ? result.stdout : '',
      stderr: typeof result.stderr === 'string' ? result.stderr : '',
      timedOut: result.timedOut,
    };
  };
}

/**
 * Writes the caller's own bytes to the pipe (libuv writes from that memory: no copy), not execa's `input:`,
 * which copies them into buffers of its own that nobody zeroes (issue #10: a key copy left in memory).
 * A child that exits without reading its stdin makes the write fail with EPIPE: its exit status tells.
 */
function writeInput(stdin: Writable | null, input: Uint8Array): void {
  if (stdin === null) return;
  stdin.on('error', () => undefined);
  stdin.end(input);
}

/** Builds the error from the program name and errno only: execa's own message is never passed on. */
export function startFailure(file: string, cause: unknown): UnlockError {
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (code === 'ENOENT') {
    const pkg = PACKAGE_OF[file] ?? file;
    return new UnlockError('SYSTEM', `Failed to run ${file}: not found (install ${pkg})`, { cause });
  }
  if (code === 'EACCES') {
    return new UnlockError('SYSTEM', `Failed to run ${file}: permission denied`, { cause });
  }
  return new UnlockError('SYSTEM', `Failed to run ${file}: ${typeof code === 'string' ? code : 'could not start'}`, {
    cause,
  });
}

export interface SecretRunOptions {
  /** Kill the child after this long (SIGTERM, then SIGKILL after KILL_GRACE_MS). */
  timeoutMs: number;
  /** Kill the child when this fires (the same way): its answer is no longer wanted. */
  signal?: AbortSignal;
  /** The child's stdin: 'inherit' lets a program that asks on a terminal use ours. */
  stdin?: 'ignore' | 'inherit';
}

export interface SecretRunResult {
  exitCode: number;
  /** All of stdout as one Buffer (the caller owns and wipes it); the chunks it was read in are wiped. */
  stdout: Buffer;
  /** stderr as text, for messages about the failure (never a secret: only stdout carries one). */
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
}

/**
 * For the one program whose stdout is a secret (systemd-ask-password): bytes never become a string, every
 * chunk is zeroed once copied, and the child is killed on timeout or abort. Same minimal env as createRunner.
 */
export function runForSecret(file: string, args: readonly string[], opts: SecretRunOptions, path: string = DEFAULT_EXEC_PATH): Promise<SecretRunResult> {
  return new Promise((resolve, reject) => {
    refuseWhileEnding(file);
    const child = spawn(file, [...args], { env: { PATH: path, LC_ALL: 'C' }, stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'], shell: false });
    track(child, new Promise((settled) => child.once('exit', settled).once('error', settled)));
    const chunks: Buffer[] = [];
    let stderr = '';
    let timedOut = false;
    let aborted = false;
    let killer: NodeJS.Timeout | undefined;
    const kill = () => {
      child.kill('SIGTERM');
      killer ??= setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs);
    const onAbort = () => {
      aborted = true;
      kill();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
    });
    const done = () => {
      clearTimeout(timer);
      if (killer !== undefined) clearTimeout(killer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (error) => {
      done();
      for (const c of chunks) c.fill(0);
      reject(startFailure(file, error));
    });
    child.on('close', (code) => {
      done();
      const stdout = Buffer.concat(chunks);
      for (const c of chunks) c.fill(0);
      resolve({ exitCode: code ?? -1, stdout, stderr, timedOut, aborted });
    });
  });
}
