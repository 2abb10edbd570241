// Asks a person for a key through systemd's password agent protocol (systemd-ask-password), so the question
// reaches the boot console and serial console, systemd-tty-ask-password-agent in an SSH session, and the
// agent `systemctl start` runs on its own terminal.
import { runForSecret, type SecretRunOptions, type SecretRunResult } from '../exec/run.ts';
import { Secret, SECRET_MAX_BYTES } from '../secret/secret.ts';

export interface AskOptions {
  /** systemd's --id=: agents show it, and `systemd-tty-ask-password-agent --list` names the request by it. */
  id: string;
  message: string;
  /** Seconds the question stays open (systemd-ask-password's own --timeout=). */
  timeoutSec: number;
  /** Withdraws the question: the child is killed and removes its request file. */
  signal?: AbortSignal;
}

/** What came back: a typed key, or nothing (timed out, cancelled at the agent, withdrawn, or no agent ran). */
export type AskResult = { key: Secret } | { none: string };

export type AskPassword = (opts: AskOptions) => Promise<AskResult>;

type Spawn = (file: string, args: readonly string[], opts: SecretRunOptions) => Promise<SecretRunResult>;

/**
 * The typed key is systemd-ask-password's stdout minus its trailing newline. stdin is inherited: run from a
 * terminal, systemd-ask-password asks there itself; under systemd (stdin /dev/null) it asks through the agents.
 */
export function createAskPassword(spawn: Spawn = (file, args, opts) => runForSecret(file, args, opts)): AskPassword {
  return async (opts) => {
    const args = [`--id=${opts.id}`, `--timeout=${Math.max(1, Math.floor(opts.timeoutSec))}`, '--icon=drive-harddisk', '--', opts.message];
    // Our own bound a little past the child's: it normally times out by itself and says so.
    const result = await spawn('systemd-ask-password', args, { timeoutMs: (Math.max(1, Math.floor(opts.timeoutSec)) + 5) * 1000, stdin: 'inherit', ...(opts.signal ? { signal: opts.signal } : {}) });
    const out = result.stdout;
    if (result.aborted) return wipeAnd(out, 'withdrawn');
    if (result.timedOut) return wipeAnd(out, 'timed out');
    if (result.exitCode !== 0) return wipeAnd(out, firstLine(result.stderr) || `systemd-ask-password exited ${result.exitCode}`);
    const end = out.length > 0 && out[out.length - 1] === 0x0a ? out.length - 1 : out.length;
    if (end === 0 || end > SECRET_MAX_BYTES) return wipeAnd(out, 'an empty answer');
    const key = Secret.copyOf(out.subarray(0, end));
    out.fill(0);
    return { key };
  };
}

function wipeAnd(buffer: Buffer, none: string): AskResult {
  buffer.fill(0);
  return { none };
}

/** systemd-ask-password's error line, e.g. "Timed out". */
function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? '';
}
