// The service status line (`systemctl status` shows it): STATUS= through the notification protocol.
//
// Node has no AF_UNIX datagram sockets, so a child sends it: `systemd-notify --status=…`. systemd-notify sends
// the STATUS= with its parent's pid (our main process) as the sender (v239 and later; faking the pid needs
// CAP_SYS_ADMIN, which the unit keeps), so the message is attributed to the unit even once the child is gone.
// From v246 it also sends BARRIER=1 from its own pid and waits until the manager has read both: the unit says
// NotifyAccess=all so that is accepted too (=main would refuse it and log a warning for every update).
// Every process in the unit's cgroup is one luks-ssm started (cryptsetup, mount, this).
import type { Runner } from '../types.ts';

export interface StatusLine {
  /** Sets the line; only the newest of several quick updates is sent. Never throws. */
  set(text: string): void;
  /** Clears the line (an empty STATUS=) once pending updates are out; bounded. */
  clear(): Promise<void>;
}

export const NOTIFY_TIMEOUT_MS = 5_000;
/**
 * Nothing is sent before the line has been wanted this long: a start that needs no wait (the usual boot) spawns no
 * systemd-notify at all. Each spawn cost 0.1-0.3 s of the unlock at boot in the TCG guest (three a start), and the
 * line only helps someone looking at a start that waits (device, AWS retries, the question).
 */
export const STATUS_QUIET_MS = 2_000;

export interface StatusLineOptions {
  onError?: (message: string) => void;
  /** STATUS_QUIET_MS unless given (tests: 0). */
  quietMs?: number;
}

/** A no-op outside a service (no $NOTIFY_SOCKET): running luks-ssm by hand prints its own lines. */
export function createStatusLine(run: Runner, notifySocket: string | undefined, options: StatusLineOptions = {}): StatusLine {
  if (notifySocket === undefined || notifySocket === '') return { set: () => {}, clear: async () => {} };
  const onError = options.onError ?? (() => {});
  const quietMs = options.quietMs ?? STATUS_QUIET_MS;
  let sent: string | undefined;
  let wanted: string | undefined;
  let sending: Promise<void> | undefined;
  let failed = false;
  // Set when the first text is wanted; the first send waits for it, later ones go out at once.
  let quiet: NodeJS.Timeout | undefined;
  let quietOver = quietMs <= 0;
  const send = async (text: string): Promise<void> => {
    try {
      const result = await run('systemd-notify', [`--status=${text}`], { timeoutMs: NOTIFY_TIMEOUT_MS, env: { NOTIFY_SOCKET: notifySocket } });
      if (result.exitCode !== 0 && !failed) {
        failed = true;
        onError(`systemd-notify exited ${result.exitCode}: ${result.stderr.trim().split('\n')[0] ?? ''}`);
      }
    } catch (error) {
      if (!failed) onError((error as Error).message);
      failed = true;
    }
  };
  const pump = (): Promise<void> => {
    if (!quietOver) {
      quiet ??= setTimeout(() => {
        quietOver = true;
        void pump();
      }, quietMs).unref();
      return Promise.resolve();
    }
    if (sending !== undefined) return sending;
    // Nothing new (a refresh with the same text): no loop. Started anyway, the loop's body would not run, its
    // `sending = undefined` would run before the assignment below, and every later update would be dropped.
    if (wanted === undefined || wanted === sent) return Promise.resolve();
    sending = (async () => {
      try {
        while (wanted !== undefined && wanted !== sent) {
          const text = wanted;
          sent = text;
          await send(text);
        }
      } finally {
        sending = undefined;
      }
    })();
    return sending;
  };
  return {
    set(text) {
      wanted = text.replace(/[\r\n]+/g, ' ');
      void pump();
    },
    async clear() {
      clearTimeout(quiet);
      quietOver = true;
      if (sent === undefined) {
        // Nothing ever reached the manager: nothing to clear, and nothing to send.
        wanted = undefined;
        return;
      }
      wanted = '';
      await pump();
    },
  };
}
