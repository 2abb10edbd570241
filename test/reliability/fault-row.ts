// One row of the README's fault matrix, declared by the test that proves it: the row travels in that test's
// own result (vitest task meta, in the JSON report), so it exists only while the test runs, with its verdict.
import type { TestContext } from 'vitest';

/** The fault groups, in the order the table lists them. */
export const FAULT_AREAS = ['network', 'imds', 'credentials', 'throttling', 'server', 'body', 'denied', 'kms', 'parameter', 'passphrase', 'device', 'mount point', 'filesystem', 'concurrency', 'signals', 'run dir', 'config'] as const;
export type FaultArea = (typeof FAULT_AREAS)[number];

/**
 * emulator: the AWS emulator's fault injection; fake: the fake cryptsetup/mount on PATH; host: a real tmpfs, a real
 * file or signal; image: a damaged real ext4 image behind the fake mapping, which the real mount(8) mounts.
 */
export type InjectedIn = 'emulator' | 'fake' | 'host' | 'image';

/** A check the test really made: what it looked at, and what it found wrong (empty: the check held). */
export interface Check {
  what: string;
  problems: string[];
}

export interface FaultRowSpec {
  area: FaultArea;
  fault: string;
  injectedIn: InjectedIn;
  /** The exit code a user should see (the test fails on any other). */
  exitCode: number;
  /** What should happen, in a few words. */
  expected: string;
}

export interface Observed {
  /** The CLI's exit code, or the signal that ended it. */
  exitCode: number | string | null;
  /** The first line a user reads about it (stderr, or check's FAIL line, or the first log message). */
  firstLine: string;
  untouched: Check;
  noSecret: Check;
}

export interface FaultRow extends Omit<FaultRowSpec, 'exitCode'>, Observed {
  expectedExitCode: number;
  /** The test file, relative to the checkout. */
  file: string;
}

declare module 'vitest' {
  interface TaskMeta {
    faultRow?: FaultRow;
  }
}

/** The checkout's root, to name test files relative to it. */
const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * Records the row on the running test, then asserts it: the expected exit code, and that both checks held.
 * Call it once per test, with the context vitest passes to the test function.
 */
export function faultRow(ctx: Pick<TestContext, 'expect' | 'task'>, spec: FaultRowSpec, observed: Observed): void {
  const path = ctx.task.file.filepath;
  const file = path.startsWith(ROOT) ? path.slice(ROOT.length) : path;
  if (ctx.task.meta.faultRow !== undefined) throw new Error(`${ctx.task.name}: one fault row per test`);
  const { exitCode: expectedExitCode, ...rest } = spec;
  ctx.task.meta.faultRow = { ...rest, expectedExitCode, ...observed, file };
  ctx.expect(observed.exitCode, `${spec.fault}: exit code (first line: ${observed.firstLine})`).toBe(expectedExitCode);
  ctx.expect(observed.untouched.problems, `${spec.fault}: ${observed.untouched.what}`).toEqual([]);
  ctx.expect(observed.noSecret.problems, `${spec.fault}: ${observed.noSecret.what}`).toEqual([]);
}
