// Key-slot work under a run lock in ONE spawn: sh takes the lock with flock(1) on our open lock file, then execs the
// program. Under QEMU TCG each spawn from Node costs 0.1-0.35 s of the boot unlock (issue #13): lock, then open, was two.
import { startFailure } from '../exec/run.ts';
import type { Runner } from '../types.ts';
import { CONFLICT_EXIT, HOST_LOCK, lockFailure, openLockFile } from './run-lock.ts';

/** What sh prints on stdout once the lock is held, before the exec: tells "lock not taken" from "the program failed". */
const LOCKED_MARK = 'luks-ssm-locked\n';

/**
 * A Runner whose every call waits for the lock (until `deadline`, and within the call's timeoutMs, which bounds the wait
 * and the program together), runs the program holding it and lets go as soon as the program has ended, whatever the
 * outcome. `exec` makes the program sh's own process, so the runner's timeout kills it, not a shell that would leave it
 * running. The program gets no fd 3: our descriptor holds the lock (a flock lock belongs to the open file description),
 * closed once the program has exited. The key, if any, stays on stdin, which neither sh nor flock reads.
 * The lock not taken throws as acquireRunLock does (LOCKED when the wait ran out); otherwise the result is the program's.
 */
export function runnerUnderLock(opts: { dir: string; name?: string; deadline: number; now: () => number; run: Runner }): Runner {
  return async (file, args, options = {}) => {
    if (options.fd3 !== undefined) throw new Error('runnerUnderLock: fd 3 is the lock file');
    const waitMs = Math.max(1, Math.min(opts.deadline - opts.now(), options.timeoutMs ?? Infinity));
    const seconds = (waitMs / 1000).toFixed(3);
    // flock gets no stdin: the key's pipe is for the program alone (sh holds it until it execs the program).
    const script = `flock --exclusive --timeout ${seconds} --conflict-exit-code ${CONFLICT_EXIT} 3 </dev/null || exit; printf '%s\\n' ${LOCKED_MARK.trim()}; exec "$@" 3>&-`;
    const { path, file: lock } = await openLockFile(opts.dir, opts.name ?? HOST_LOCK);
    try {
      const result = await opts.run('sh', ['-c', script, 'sh', file, ...args], { ...options, fd3: lock.fd });
      const locked = result.stdout.startsWith(LOCKED_MARK);
      // sh's "not found" (127) and "cannot run" (126), of flock before the mark, of the program after it: the line a
      // direct spawn gives. The programs run here never exit with these themselves (cryptsetup's statuses are 0-5).
      if (!result.timedOut && (result.exitCode === 127 || result.exitCode === 126)) {
        throw startFailure(locked ? file : 'flock', { code: result.exitCode === 127 ? 'ENOENT' : 'EACCES' });
      }
      if (!locked) throw lockFailure(path, waitMs, result);
      return { ...result, stdout: result.stdout.slice(LOCKED_MARK.length) };
    } finally {
      await lock.close();
    }
  };
}
