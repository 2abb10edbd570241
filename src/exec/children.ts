// The programs this process started and has not seen end, so that a signal or the process's exit ends them too.
//
// One listener per signal for the whole life of the process, never removed until the signal ends it. execa's own
// clean-up (signal-exit) added a SIGTERM listener around each program and removed it when the program ended; Node
// drops a signal that arrived but was not yet dispatched when its last listener goes, so a `systemctl stop` landing
// as a program ended was lost and start went on (seen: killed while it waited for the device, start ran to its end).
/** The signals whose default action ends the process: each still does, after the children are told to end. */
export const ENDING_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/** The part of `process` this module uses (a test passes its own). */
export interface OwnProcess {
  pid: number;
  on(event: string, listener: () => void): unknown;
  removeListener(event: string, listener: () => void): unknown;
  kill(pid: number, signal: NodeJS.Signals): unknown;
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
 * SIGTERM, SIGINT or SIGHUP they get SIGTERM and then this process ends by the same signal, as if it had no
 * listener (systemd sees "killed by SIGTERM", not an exit code).
 */
export function endChildrenWithProcess(proc: OwnProcess = process): void {
  proc.on('exit', endChildren);
  for (const signal of ENDING_SIGNALS) {
    const onSignal = (): void => {
      endChildren();
      // The last listener gone, the default action is back: the signal sent again ends this process at once.
      proc.removeListener(signal, onSignal);
      proc.kill(proc.pid, signal);
    };
    proc.on(signal, onSignal);
  }
}
