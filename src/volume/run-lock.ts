// Serialises luks-ssm runs on one host, so volumes open one at a time (argon2 key slots can take GiBs each).
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { UnlockError } from '../errors.ts';
import { createRunner } from '../exec/run.ts';
import type { Runner } from '../types.ts';

export const RUN_LOCK_DIR = '/run/luks-ssm';

/** flock's exit status when the wait times out (sysexits EX_TEMPFAIL), to tell it from flock's own errors. */
const CONFLICT_EXIT = 75;
/** Extra time flock gets beyond its own --timeout before the runner kills it. */
const FLOCK_GRACE_MS = 5000;

export interface RunLock {
  release(): Promise<void>;
}

/**
 * Node has no flock(2), so flock(1) takes the lock for us on our open file as its fd 3. A flock lock belongs
 * to the open file description, which the child shares with us: it stays held by our descriptor after the
 * child exits, and the kernel drops it when we close the file or die, so a crashed run never leaves it stuck.
 */
export async function acquireRunLock(opts: { dir: string; timeoutMs: number; run?: Runner }): Promise<RunLock> {
  const path = join(opts.dir, 'lock');
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const file = await open(path, 'a', 0o600);
  const waitMs = Math.max(0, opts.timeoutMs);
  try {
    const run = opts.run ?? createRunner();
    const seconds = (waitMs / 1000).toFixed(3);
    const args = ['--exclusive', '--timeout', seconds, '--conflict-exit-code', String(CONFLICT_EXIT), '3'];
    const result = await run('flock', args, { fd3: file.fd, timeoutMs: waitMs + FLOCK_GRACE_MS });
    if (result.exitCode === CONFLICT_EXIT || result.timedOut) {
      throw new UnlockError('LOCKED', `Another luks-ssm run holds ${path}; gave up after ${formatSeconds(waitMs)} s`, {
        retryable: true,
        hint: 'see systemctl list-units "luks-ssm@*" for the run still in progress',
      });
    }
    if (result.exitCode !== 0) {
      const detail = result.stderr.trim().split('\n')[0] || `flock exited with status ${result.exitCode}`;
      throw new UnlockError('SYSTEM', `Failed to lock ${path}: ${detail}`);
    }
  } catch (error) {
    await file.close();
    throw error;
  }
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      await file.close();
    },
  };
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? String(ms / 1000) : (ms / 1000).toFixed(1);
}
