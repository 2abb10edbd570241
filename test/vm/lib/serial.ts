// What the guest kernel printed on its serial console, read after the fact: the last lines, and a panic's trace.
import { existsSync, readFileSync } from 'node:fs';

const PANIC_LINE = 'Kernel panic - not syncing';
/** Where a kernel's account of a crash begins: a WARN/BUG banner, an oops, a fault, a stall. */
const TRACE_START = /-{8,}\[ cut here \]|\bBUG:|\bOops\b|general protection fault|\bkernel BUG\b|Unable to handle|rcu: INFO|watchdog: BUG/;
/** Enough for an oops with its registers and call trace; more would bury the CI log. */
const MAX_TRACE_LINES = 60;

export function readSerial(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/** The console's last lines on one line, for a failure message. */
export function serialTail(serial: string, lines = 3): string {
  if (serial === '') return '(no serial log)';
  return serial.trimEnd().split('\n').slice(-lines).join(' | ');
}

/**
 * The guest kernel's panic, from the start of the crash report that led to it to the panic line itself (at most
 * MAX_TRACE_LINES), or undefined when the console shows no panic.
 */
export function panicTrace(serial: string): string[] | undefined {
  const lines = serial.replaceAll('\r', '').split('\n');
  const panicAt = lines.findIndex((line) => line.includes(PANIC_LINE));
  if (panicAt < 0) return undefined;
  const earliest = Math.max(0, panicAt - MAX_TRACE_LINES + 1);
  // The first report of the chain that ended in the panic (a warning can come before the oops it led to).
  let reportAt = -1;
  for (let i = panicAt - 1; i >= 0 && (reportAt < 0 || i >= earliest); i -= 1) {
    if (TRACE_START.test(lines[i])) reportAt = i;
  }
  // A report longer than the limit keeps its last lines; no report at all, the lines just before the panic.
  const start = reportAt < 0 ? Math.max(0, panicAt - 20) : Math.max(reportAt, earliest);
  return lines.slice(start, panicAt + 1);
}

/**
 * A crash trace whose code path is one luks-ssm's unlock runs through: device-mapper, dm-crypt and its kcryptd
 * workers, the kernel crypto API's aes/xts. Never taken for the emulator's noise. The task named on the "Comm:" line
 * is not evidence (an interrupt crashes in whatever task it interrupted), nor is the list of loaded modules.
 */
export function onProductPath(trace: string[]): boolean {
  return trace.some((line) => !/Modules linked in:/.test(line) && /\bdm[-_]|kcryptd|\bcrypt_|\b(aes|xts)\w*[+_]/i.test(line));
}
