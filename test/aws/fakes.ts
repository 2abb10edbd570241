// Test doubles for the aws/ tests: a clock that advances only when slept, a recording logger, fake IMDS.
import type { Clock, Logger } from '../../src/types.ts';
import type { ImdsClient } from '../../src/aws/imds.ts';

export interface FakeClock extends Clock {
  sleeps: number[];
  /** Moves time forward without a sleep (time spent inside an attempt). */
  advance(ms: number): void;
}

/** Starts at a fixed epoch; sleep() advances time instantly; random() replays `randoms` (then 0.5). */
export function createFakeClock(randoms: number[] = [], start = 1_700_000_000_000): FakeClock {
  let now = start;
  const queue = [...randoms];
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    random: () => queue.shift() ?? 0.5,
    advance: (ms) => {
      now += ms;
    },
  };
}

export interface LogLine {
  level: string;
  obj: object;
  msg: string | undefined;
}

export function createRecordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (objOrMsg: object | string, msg?: string): void => {
    if (typeof objOrMsg === 'string') lines.push({ level, obj: {}, msg: objOrMsg });
    else lines.push({ level, obj: objOrMsg, msg });
  };
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } as Logger & { lines: LogLine[] };
}

/** An IMDS client answering from a table of path -> answer (string, or an error to throw), recording paths. */
export function createFakeImds(answers: Record<string, Array<string | Error>>): ImdsClient & { paths: string[] } {
  const paths: string[] = [];
  return {
    endpoint: 'http://127.0.0.1:1',
    paths,
    get: async (path) => {
      paths.push(path);
      const queue = answers[path];
      const next = queue && queue.length > 1 ? queue.shift() : queue?.[0];
      if (next === undefined) throw Object.assign(new Error(`HTTP 404 for ${path}`), { statusCode: 404, imds: true });
      if (next instanceof Error) throw next;
      return next;
    },
  };
}

export function imdsFailure(fields: { statusCode?: number; code?: string }): Error {
  return Object.assign(new Error(`imds failure ${fields.statusCode ?? fields.code}`), { name: 'ImdsError', imds: true, ...fields });
}
