// Runs the built luks-ssm CLI as a child process with a minimal, explicit environment, as systemd would.
import { spawn } from 'node:child_process';
import { inject } from 'vitest';

/** Where system programs live; the child never inherits the test runner's PATH. */
export const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
/** Every CLI run is bounded: a hang fails the test instead of the suite. */
export const CLI_TIMEOUT_MS = 20_000;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Raw bytes, for the secret scan (a passphrase need not be UTF-8). */
  stdoutBytes: Buffer;
  stderrBytes: Buffer;
  elapsedMs: number;
  /** True when the test's own bound (timeoutMs) ended the child with SIGKILL, not the child or the test. */
  timedOut: boolean;
}

export interface CliOptions {
  env: Record<string, string>;
  timeoutMs?: number;
  /** Run as this user (and group of the same number) instead of ours; the build dir is world-readable. */
  uid?: number;
  /** Called with the child's pid once it runs (the memory-scan test reads /proc/<pid>/mem). */
  onSpawn?: (pid: number) => void;
  /** Node's own options before the bundle (a test's `--import` hook). */
  nodeArgs?: string[];
}

let warned = false;

/** The Node to start the CLI with: as another user, the copy in the build dir (ours may sit in a 0700 checkout). */
export function cliNode(uid: number | undefined): string {
  return uid === undefined ? process.execPath : (inject('luksSsmCli')?.nodeForOthers ?? process.execPath);
}

/** `node luks-ssm.cjs` from the globalSetup build (or `node src/main.ts`, loudly, when the build failed). */
export function cliCommand(): string[] {
  const cli = inject('luksSsmCli');
  if (cli === undefined) throw new Error('no built CLI: run vitest with globalSetup test/support/global-build.ts');
  if (cli.fallback !== undefined && !warned) {
    warned = true;
    console.warn(`!!! CLI tests are running src/main.ts, NOT the shipped build (the build failed: ${cli.fallback})`);
  }
  return cli.args;
}

/** The whole environment the child gets: nothing from ours (no NODE_OPTIONS, NODE_EXTRA_CA_CERTS, AWS_*). */
export function childEnv(home: string, over: Record<string, string> = {}): Record<string, string> {
  return { PATH: SYSTEM_PATH, HOME: home, LC_ALL: 'C', ...over };
}

export function runCli(args: string[], opts: CliOptions): Promise<CliResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cliNode(opts.uid), [...(opts.nodeArgs ?? []), ...cliCommand(), ...args], {
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.uid, cwd: '/' }),
    });
    // Our own timer, not spawn's `timeout`, so the result can tell this SIGKILL from one a test sent.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? CLI_TIMEOUT_MS);
    child.once('exit', () => clearTimeout(timer));
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      const stdoutBytes = Buffer.concat(out);
      const stderrBytes = Buffer.concat(err);
      resolve({
        code,
        signal,
        stdout: stdoutBytes.toString('utf8'),
        stderr: stderrBytes.toString('utf8'),
        stdoutBytes,
        stderrBytes,
        elapsedMs: performance.now() - started,
        timedOut,
      });
    });
  });
}

/** Output lines that are not pino JSON log lines: what the user reads (report lines, the one error line). */
export function plainLines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('{'));
}

/** pino JSON lines, parsed. */
export function logLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
