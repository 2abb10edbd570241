// Runs host commands for the VM harness with a bounded wait: every child is killed when its time is up.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface CommandOptions {
  timeoutMs: number;
  /** Bytes for stdin (a passphrase goes to cryptsetup this way, never in argv or env). */
  input?: Uint8Array;
  /** Append stdout and stderr here instead of keeping them in memory (long builds). */
  logFile?: string;
}

/** Runs `file args` without a shell; resolves with the outcome, never rejects for a non-zero exit. */
export function runCommand(file: string, args: readonly string[], options: CommandOptions): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const log = options.logFile === undefined ? undefined : createWriteStream(options.logFile, { flags: 'a' });
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (log ? log.write(chunk) : (stdout += chunk.toString())));
    child.stderr.on('data', (chunk: Buffer) => (log ? log.write(chunk) : (stderr += chunk.toString())));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      log?.end();
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      log?.end();
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input === undefined ? undefined : Buffer.from(options.input));
  });
}

/** Runs a command and throws with its stderr when it fails or times out. */
export async function mustRun(file: string, args: readonly string[], options: CommandOptions): Promise<string> {
  const result = await runCommand(file, args, options);
  if (result.timedOut) throw new Error(`${file} ${args[0] ?? ''} timed out after ${options.timeoutMs} ms`);
  if (result.code !== 0) {
    const detail = result.stderr.trim().split('\n').slice(-5).join(' | ');
    throw new Error(`${file} ${args[0] ?? ''} exited ${result.code ?? result.signal}: ${detail}`);
  }
  return result.stdout;
}

/** SIGKILLs a process group started with detached: true (the child and everything it spawned). */
export function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
