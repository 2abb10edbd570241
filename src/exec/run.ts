// The one place that starts programs (the only execa import): no shell, minimal env, bytes on stdin only.
import type { Writable } from 'node:stream';
import { execa } from 'execa';
import { UnlockError } from '../errors.ts';
import type { RunOptions, RunResult, Runner } from '../types.ts';
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
    const stdin = options.input === undefined ? 'ignore' : 'pipe';
    const child = execa(file, args, {
      encoding: 'utf8',
      env,
      extendEnv: false,
      shell: false,
      reject: false,
      stripFinalNewline: false,
      // execa's types reject a plain fd as an extra stdio item; at runtime it is dup2'ed into the child as-is.
      stdio: (options.fd3 === undefined
        ? [stdin, 'pipe', 'pipe']
        : [stdin, 'pipe', 'pipe', options.fd3]) as ['ignore' | 'pipe', 'pipe', 'pipe'],
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
      killSignal: 'SIGTERM',
      forceKillAfterDelay: KILL_GRACE_MS,
    });
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
function startFailure(file: string, cause: unknown): UnlockError {
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
