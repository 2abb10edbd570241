// The programs this process started and has not seen end, so that a signal or the process's exit ends them too.
//
// One listener per signal for the whole life of the process, never removed until the signal ends it. execa's own
// clean-up (signal-exit) added a SIGTERM listener around each program and removed it when the program ended; Node
// drops a signal that arrived but was not yet dispatched when its last listener goes, so a `systemctl stop` landing
// as a program ended was lost and start went on (seen: killed while it waited for the device, start ran to its end).
import { constants } from 'node:os';

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

const live = new Set<Killable>();

/** Remembers a program, just started, until `ended` settles (it exited, or never started). */
export function track(program: Killable, ended: PromiseLike<unknown>): void {
  live.add(program);
  const forget = (): void => {
    live.delete(program);
  };
  ended.then(forget, forget);
}

/** How many tracked programs have not ended yet (for tests). */
export function liveChildren(): number {
  return live.size;
}

function endChildren(): void {
  for (const child of live) child.kill('SIGTERM');
}

/**
 * Installs, once, at the start of the process: on exit the live children get SIGTERM (as execa's clean-up did); on
 * SIGTERM, SIGINT, SIGHUP or SIGQUIT they get SIGTERM and then this process ends. Without a terminal (the unit) it
 * ends by the same signal, as if it had no listener: systemd sees "killed by SIGTERM", not an exit code. On a
 * terminal it exits 128 + the signal's number, so Node puts back the terminal modes it found (a killed
 * systemd-ask-password leaves echo off, and a re-raised signal would end Node without the reset).
 * A handler means a signal waits for the main thread: a synchronous call stuck on a dead network filesystem delays
 * it until systemd's SIGKILL, which bounds it.
 */
export function endChildrenWithProcess(opts: { terminal: boolean }, proc: OwnProcess = process): void {
  proc.on('exit', endChildren);
  for (const signal of ENDING_SIGNALS) {
    const code = 128 + constants.signals[signal];
    const onSignal = (): void => {
      try {
        endChildren();
      } finally {
        if (!opts.terminal) {
          // The last listener gone, the default action is back: the signal sent again ends this process at once.
          proc.removeListener(signal, onSignal);
          proc.kill(proc.pid, signal);
        }
        // On a terminal; or, should another listener ever hold the signal, the raise above did not end us.
        proc.exit(code);
      }
    };
    proc.on(signal, onSignal);
  }
}
