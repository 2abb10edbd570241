// How this process ends: the programs it started and has not seen end are told to end with it, a signal waits for
// them (and starts no more), runs the clean-ups registered for it, and a read given up on forces a SIGKILL.
//
// One listener per signal for the whole life of the process, never removed until the signal ends it. execa's own
// clean-up (signal-exit) added a SIGTERM listener around each program and removed it when the program ended; Node
// drops a signal that arrived but was not yet dispatched when its last listener goes, so a `systemctl stop` landing
// as a program ended was lost and start went on (seen: killed while it waited for the device, start ran to its end).
import { constants } from 'node:os';
import { UnlockError } from '../errors.ts';

/**
 * The signals whose default action ends the process: each still does, after the children are told to end.
 * SIGQUIT too: an orphaned locked-run `sh` would otherwise go on to open the disk after a hand-sent `kill -QUIT`.
 */
export const ENDING_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'] as const;

/** The part of `process` this module uses (a test passes its own). */
export interface OwnProcess {
  pid: number;
  on(event: string, listener: () => void): unknown;
  removeListener(event: string, listener: () => void): unknown;
  kill(pid: number, signal: NodeJS.Signals): unknown;
  exit(code: number): unknown;
}

/** A started program as this module needs it: something to send a signal to. */
export interface Killable {
  kill(signal: NodeJS.Signals): boolean;
}

/**
 * How long a signal waits for the children it told to end: cryptsetup, told during an open, finishes the key slot
 * it is deriving (seconds for a costly argon2 slot on a small instance). Under the unit TimeoutStopSec bounds it too.
 */
export const CHILDREN_GRACE_MS = 15_000;

const live = new Set<Killable>();
const onAllEnded: Array<() => void> = [];
/** Set by the first ending signal: from then on no program starts (the run is over, whatever the main flow does). */
let ending = false;

/** Remembers a program, just started, until `ended` settles (it exited, or never started). */
export function track(program: Killable, ended: PromiseLike<unknown>): void {
  live.add(program);
  const forget = (): void => {
    live.delete(program);
    if (live.size === 0) for (const notify of onAllEnded.splice(0)) notify();
  };
  ended.then(forget, forget);
}

/** Throws for a program about to start after an ending signal: the caller's step fails instead of running it. */
export function refuseWhileEnding(file: string): void {
  if (ending) throw new UnlockError('SYSTEM', `not starting ${file}: luks-ssm is ending on a signal`);
}

/** True once an ending signal came: the process ends by it, not by the main flow's exit code. */
export function isEnding(): boolean {
  return ending;
}

/**
 * Reads given up on that have not returned yet: each holds a libuv thread, and Node's exit joins those threads, so
 * process.exit would wait as long as the read does (for ever, on a FUSE file that never answers).
 */
let pendingGivenUp = 0;

/** Called by whoever stops waiting for `read` (still running): until it settles the process can end only by a signal. */
export function giveUpOnRead(read: PromiseLike<unknown>): void {
  pendingGivenUp += 1;
  const settled = (): void => {
    pendingGivenUp -= 1;
  };
  read.then(settled, settled);
}

/** True while a read given up on is still pending (main.ts and the signal path then end by SIGKILL). */
export function hasStuckRead(): boolean {
  return pendingGivenUp > 0;
}

/**
 * Synchronous clean-ups for the moment a signal ends the process: the main flow's own (async) clean-up never runs
 * then (review 12: an empty --output file for a recovery key outlived a Ctrl-C at the enroll question).
 */
const endingCleanups = new Set<() => void>();

/** Runs `cleanup` if a signal ends the process before the returned function is called. */
export function onEndingBySignal(cleanup: () => void): () => void {
  endingCleanups.add(cleanup);
  return () => {
    endingCleanups.delete(cleanup);
  };
}

function runEndingCleanups(): void {
  for (const cleanup of [...endingCleanups]) {
    endingCleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // A clean-up is best effort: the process ends anyway.
    }
  }
}

/** For tests that play a signal and then go on to start programs. */
export function resetEndingForTests(): void {
  ending = false;
}

/** How many tracked programs have not ended yet (for tests). */
export function liveChildren(): number {
  return live.size;
}

function endChildren(): void {
  for (const child of live) child.kill('SIGTERM');
}

/** Resolves once no tracked program is live, or after `ms`. */
function childrenEnded(ms: number): Promise<void> {
  if (live.size === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    onAllEnded.push(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Installs, once, at the start of the process: on exit the live children get SIGTERM (as execa's clean-up did); on
 * SIGTERM, SIGINT, SIGHUP or SIGQUIT they get SIGTERM, no program starts any more, and once they have ended (at
 * most `graceMs`) this process ends. The wait keeps the run's locks (held by this process's descriptors) until a
 * `cryptsetup open` told to end has finished its open: a next start does not race it. A second signal ends at once.
 * Without a terminal (the unit) it ends by the same signal, as if it had no listener: systemd sees "killed by
 * SIGTERM", not an exit code. On a terminal it exits 128 + the signal's number, so Node puts back the terminal modes
 * it found (a killed systemd-ask-password leaves echo off, and a re-raised signal would end Node without the reset).
 * A handler means a signal waits for the main thread: a synchronous call stuck on a dead network filesystem delays
 * it until systemd's SIGKILL, which bounds it.
 */
export function endChildrenWithProcess(opts: { terminal: boolean; graceMs?: number }, proc: OwnProcess = process): void {
  proc.on('exit', endChildren);
  for (const signal of ENDING_SIGNALS) {
    const code = 128 + constants.signals[signal];
    const endProcess = (): void => {
      runEndingCleanups();
      // Neither exit nor a re-raised signal with a listener could end the process while a read is stuck (see above).
      if (hasStuckRead()) proc.kill(proc.pid, 'SIGKILL');
      if (!opts.terminal) {
        // The last listener gone, the default action is back: the signal sent again ends this process at once.
        proc.removeListener(signal, onSignal);
        proc.kill(proc.pid, signal);
      }
      // On a terminal; or, should another listener ever hold the signal, the raise above did not end us.
      proc.exit(code);
    };
    const onSignal = (): void => {
      if (ending) return endProcess();
      ending = true;
      try {
        endChildren();
      } finally {
        void childrenEnded(opts.graceMs ?? CHILDREN_GRACE_MS).then(endProcess);
      }
    };
    proc.on(signal, onSignal);
  }
}
