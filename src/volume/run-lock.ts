// Locks in /run/luks-ssm: the host lock (key-slot work one at a time: argon2 key slots can take GiBs each) and the
// volume locks (a run of one volume excludes other runs of it, and of volumes that share its mapping or mount point).
import { createHash } from 'node:crypto';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { UnlockError } from '../errors.ts';
import { createRunner } from '../exec/run.ts';
import type { RunResult, Runner } from '../types.ts';

export const RUN_LOCK_DIR = '/run/luks-ssm';
/** The host lock's file name. */
export const HOST_LOCK = 'lock';

/** flock's exit status when the wait times out (sysexits EX_TEMPFAIL), to tell it from flock's own errors. */
export const CONFLICT_EXIT = 75;
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
export async function acquireRunLock(opts: { dir: string; timeoutMs: number; run?: Runner; name?: string }): Promise<RunLock> {
  const { path, file } = await openLockFile(opts.dir, opts.name ?? HOST_LOCK);
  const waitMs = Math.max(0, opts.timeoutMs);
  try {
    const run = opts.run ?? createRunner();
    const seconds = (waitMs / 1000).toFixed(3);
    const args = ['--exclusive', '--timeout', seconds, '--conflict-exit-code', String(CONFLICT_EXIT), '3'];
    const result = await run('flock', args, { fd3: file.fd, timeoutMs: waitMs + FLOCK_GRACE_MS });
    if (result.exitCode !== 0 || result.timedOut) throw lockFailure(path, waitMs, result);
  } catch (error) {
    await file.close();
    throw error;
  }
  return { release: closing([file]) };
}

/** Opens (creating) the lock file `name` in `dir`; the lock is taken on this open file description. */
export async function openLockFile(dir: string, name: string): Promise<{ path: string; file: FileHandle }> {
  const path = join(dir, name);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // O_NOFOLLOW: a symlink planted in the run directory is not opened through (review 9).
    return { path, file: await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600) };
  } catch (error) {
    // Not root (check run without sudo, review 16): a clear line and exit 4, not "unexpected error" (exit 1).
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      const hint = process.getuid?.() === 0 ? `root was refused too: check ${dir} (its mode, a read-only /run, an SELinux denial)` : 'run luks-ssm as root';
      throw new UnlockError('PERMISSION', `${path}: permission denied`, { hint });
    }
    throw error;
  }
}

/** Why flock(1) did not take `path`: LOCKED when the wait ran out (retryable), else flock's own first line. */
export function lockFailure(path: string, waitMs: number, result: RunResult): UnlockError {
  if (result.exitCode === CONFLICT_EXIT || result.timedOut) {
    return new UnlockError('LOCKED', `Another luks-ssm run holds ${path}; gave up after ${formatSeconds(waitMs)} s`, {
      retryable: true,
      hint: 'see systemctl list-units "luks-ssm@*" for the run still in progress',
    });
  }
  const detail = result.stderr.trim().split('\n')[0] || `flock exited with status ${result.exitCode}`;
  return new UnlockError('SYSTEM', `Failed to lock ${path}: ${detail}`);
}

/**
 * The lock files of one volume's run. Besides the volume's own, one per mapping name and per mount point: the
 * host lock no longer covers a whole run, so two volumes configured with the same mapping or mount point must
 * still exclude each other (else both could see it free and the second mount would hide the first). Sorted, so
 * every run takes them in the same order and two runs never deadlock.
 */
export function volumeLockNames(config: { volume: string; mapName: string; mountPoint: string }): string[] {
  // Hashed: a fixed length whatever the name (a 250-character volume name fits NAME_MAX, "lock.volume." + it does
  // not), and never "<name>.json", the unlock records' form, whose rename would swap out a lock file's inode.
  const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);
  return [`lock.volume.${hash(config.volume)}`, `lock.map.${hash(config.mapName)}`, `lock.mount.${hash(config.mountPoint)}`].sort();
}

/** How long the one-process attempt may take (at most; never past the deadline) before the ordered path decides instead. */
const AT_ONCE_TIMEOUT_MS = 5000;

/** The locks of `names`, and the lock of `alsoTry` when it came with them. */
export interface RunLocks extends RunLock {
  also?: RunLock;
  /** Some lock was held elsewhere when asked for: another run (a stop, a start) came first and may have changed things. */
  waited?: true;
}

/**
 * Takes `names` in order, each within what is left of `deadline`; on failure releases those already taken.
 * First, one process tries them all without waiting: the usual run, nobody holding any of them, spawns once instead
 * of once a lock (each spawn cost 0.1-0.3 s of the boot unlock under TCG). `alsoTry` (the device lock, next in the
 * order) is tried in that process too, and released on its own; if anything was taken elsewhere, it is not taken.
 */
export async function acquireRunLocks(opts: { dir: string; names: string[]; alsoTry?: string; deadline: number; now: () => number; run?: Runner }): Promise<RunLocks> {
  const atOnceMs = Math.max(1, Math.min(AT_ONCE_TIMEOUT_MS, opts.deadline - opts.now()));
  const atOnce = await tryAllAtOnce(opts.dir, [...opts.names, ...(opts.alsoTry === undefined ? [] : [opts.alsoTry])], opts.run ?? createRunner(), atOnceMs);
  if (atOnce !== undefined) {
    const also = opts.alsoTry === undefined ? undefined : atOnce.splice(-1);
    return { release: closing(atOnce), ...(also === undefined ? {} : { also: { release: closing(also) } }) };
  }
  const held: RunLock[] = [];
  const releaseAll = async () => {
    for (const lock of held.splice(0).reverse()) await lock.release();
  };
  try {
    for (const name of opts.names) {
      held.push(await acquireRunLock({ dir: opts.dir, name, timeoutMs: Math.max(1, opts.deadline - opts.now()), run: opts.run }));
    }
  } catch (error) {
    await releaseAll();
    throw error;
  }
  return { release: releaseAll, waited: true };
}

/**
 * Every lock of `names` taken by one `sh -c 'flock -n 3 && flock -n 4 …'` on our open files, which then hold them (in
 * `names`' order); undefined, with none held, when any of them is taken elsewhere or anything fails: the ordered wait
 * then decides and reports. Trying without waiting cannot deadlock, whatever the order.
 */
async function tryAllAtOnce(dir: string, names: string[], run: Runner, timeoutMs: number): Promise<FileHandle[] | undefined> {
  if (names.length < 2) return undefined;
  const files: FileHandle[] = [];
  try {
    for (const name of names) files.push((await openLockFile(dir, name)).file);
    const script = files.map((_, i) => `flock --exclusive --nonblock ${i + 3}`).join(' && ');
    const [first, ...more] = files.map((file) => file.fd);
    const result = await run('sh', ['-c', script], { fd3: first, moreFds: more, timeoutMs });
    if (result.exitCode === 0 && !result.timedOut) return files;
  } catch {
    // The ordered path below runs flock itself and reports what is wrong.
  }
  await closing(files)();
  return undefined;
}

/** Closes `files` (the locks they hold go with them), last first; a second call closes nothing. */
function closing(files: FileHandle[]): () => Promise<void> {
  return async () => {
    for (const file of files.splice(0).reverse()) await file.close();
  };
}

export function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? String(ms / 1000) : (ms / 1000).toFixed(1);
}
