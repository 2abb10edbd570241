// The one pino setup: JSON lines for the journal, a short human line on a terminal, secrets redacted.
import { pino, type DestinationStream, type Level } from 'pino';
import { printable } from './errors.ts';
import type { Logger } from './types.ts';

/**
 * Second guard behind Secret.toJSON(): any field with one of these names is censored, whatever it holds.
 * The first guard is that code never puts key bytes in a log object at all.
 */
export const REDACTED_PATHS = [
  'secret', 'passphrase', 'key', 'value', 'Value', 'plaintext', 'Plaintext',
  '*.secret', '*.passphrase', '*.key', '*.value', '*.Value', '*.plaintext', '*.Plaintext',
];

export interface LogOptions {
  level?: string;
  /** Human-readable lines instead of JSON (on a TTY). */
  pretty?: boolean;
  /** Where lines go; defaults to stdout, written synchronously so nothing is lost at process.exit. */
  destination?: DestinationStream;
  /** Each line begins with its syslog priority, <3> for an error (the destination is the journal). */
  priorityPrefix?: (level: number) => string;
}

/**
 * process.stdout is synchronous for files, TTYs and pipes on Linux (as main.ts relies on too). Not
 * pino.destination(): the bundle leaves SonicBoom and pino's transports out (scripts/build/lean-pino.mjs).
 */
const STDOUT: DestinationStream = { write: (line: string) => void process.stdout.write(line) };
const NOWHERE: DestinationStream = { write: () => undefined };

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const OMITTED_IN_PRETTY = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'name']);

/** Turns one pino JSON line into `level: message (k=v …)` for a person at a terminal. */
export function formatPrettyLine(jsonLine: string): string {
  const entry = JSON.parse(jsonLine) as Record<string, unknown>;
  const level = LEVEL_NAMES[entry.level as number] ?? String(entry.level);
  const extras = Object.entries(entry)
    .filter(([k]) => !OMITTED_IN_PRETTY.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const tail = extras.length > 0 ? ` (${extras.join(' ')})` : '';
  // Messages quote outside text (a mount's source, a header's key id): a terminal gets it shown, never obeyed.
  return `${printable(`${level}: ${String(entry.msg ?? '')}${tail}`)}\n`;
}

function prettyStream(out: DestinationStream): DestinationStream {
  return { write: (line: string) => out.write(formatPrettyLine(line)) };
}

/** pino writes each JSON line as it begins: {"level":50,… */
function withPriority(out: DestinationStream, prefix: (level: number) => string): DestinationStream {
  return { write: (line: string) => out.write(`${prefix(Number(/^\{"level":(\d+)/.exec(line)?.[1] ?? 30))}${line}`) };
}

export function createLogger(options: LogOptions = {}): Logger {
  const destination = options.destination ?? STDOUT;
  const out = options.priorityPrefix === undefined || options.pretty ? destination : withPriority(destination, options.priorityPrefix);
  return pino(
    {
      level: (options.level ?? 'info') as Level,
      base: undefined,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: options.pretty ? false : pino.stdTimeFunctions.isoTime,
    },
    options.pretty ? prettyStream(out) : out,
  );
}

/** A logger that drops everything: for verbs whose output is the answer itself (status --json). */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' }, NOWHERE);
}
