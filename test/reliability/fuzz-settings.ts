// How many cases each fuzz target runs and with which seed: few in the everyday suite, 10,000 in `npm run reliability`.
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';

/** The seed `npm run reliability` pins, so CI runs the same 10,000 cases every time. */
export const FUZZ_SEED = 20261206;
/** Cases per target in the everyday `vitest run` (the reliability run sets LUKS_SSM_FUZZ_RUNS). */
const EVERYDAY_RUNS = 200;

export interface FuzzSettings {
  numRuns: number;
  seed: number;
}

/** LUKS_SSM_FUZZ_RUNS and LUKS_SSM_FUZZ_SEED ('random' for the --long run) override the defaults. */
export function fuzzSettings(env: NodeJS.ProcessEnv = process.env): FuzzSettings {
  const runs = Number(env.LUKS_SSM_FUZZ_RUNS ?? EVERYDAY_RUNS);
  const seedText = env.LUKS_SSM_FUZZ_SEED ?? String(FUZZ_SEED);
  const seed = seedText === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(seedText);
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed)) throw new Error('LUKS_SSM_FUZZ_RUNS/LUKS_SSM_FUZZ_SEED must be integers');
  return { numRuns: runs, seed };
}

/**
 * Cases for the targets that go through the real SDK, loopback HTTP and the emulator (5-25 ms a case, against
 * microseconds for the pure targets): LUKS_SSM_FUZZ_AWS_RUNS, else the everyday count, at most 2,000 unless set;
 * `npm run reliability` sets 10,000.
 */
export function awsFuzzRuns(env: NodeJS.ProcessEnv = process.env): number {
  if (env.LUKS_SSM_FUZZ_AWS_RUNS !== undefined) return Number(env.LUKS_SSM_FUZZ_AWS_RUNS);
  return Math.min(fuzzSettings(env).numRuns, 2_000);
}

/** Real time one target may take for all its cases together (no hang): generous, the point is a bound. */
export const FUZZ_TARGET_TIMEOUT_MS = 600_000;

/**
 * Runs a property with the settings and, when LUKS_SSM_RELIABILITY_OUT names a file, appends one JSON line
 * about the run for scripts/reliability.ts: target, cases, seed, failures, slowest case.
 */
export async function checkProperty(target: string, property: fc.IAsyncPropertyWithHooks<unknown> | fc.IPropertyWithHooks<unknown>, extra: Partial<fc.Parameters<unknown>> = {}): Promise<void> {
  const settings = { ...fuzzSettings(), ...extra };
  const started = performance.now();
  const details = await fc.check(property as fc.IAsyncProperty<unknown>, settings);
  const out = process.env.LUKS_SSM_RELIABILITY_OUT;
  if (out) {
    const record = { target, cases: details.numRuns, seed: settings.seed, failed: details.failed, ms: Math.round(performance.now() - started) };
    appendFileSync(out, `${JSON.stringify(record)}\n`);
  }
  if (details.failed) throw new Error(`${fc.defaultReportMessage(details) ?? `fuzz target ${target} failed`}\n${String(details.errorInstance)}`);
}
