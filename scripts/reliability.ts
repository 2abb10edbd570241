// `npm run reliability`: fuzzing (10,000 cases a target, fixed seed), the fleet simulation and the fault matrix, recorded under
// docs/reliability/ and summed up in the README's generated Reliability section. `--check` writes nothing and
// fails when a recorded file or the section is stale; `--long` adds the 10,000-host fleet, a random-seed fuzz run and
// the 200-cycle soak in a guest. `--vm-records DIR` records the soak and power-cut results a VM run left in DIR.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetChartSpec, renderSvg } from '../test/reliability/fleet/chart.ts';
import { RETRY_MODES } from '../test/reliability/fleet/modes.ts';
import { BOOT_SPREAD_MS, DEADLINE_MS, simulateFleet, SSM_STANDARD_BURST, SSM_STANDARD_TPS, type FleetResult } from '../test/reliability/fleet/simulate.ts';
import { FUZZ_SEED } from '../test/reliability/fuzz-settings.ts';
import { guestRecordsMarkdown, importGuestRecords, runLongSoak, vmRecordsDir } from '../test/reliability/guest/records.ts';
import { renderReliabilityMarkdown, type FleetRecord, type FuzzRecord } from '../test/reliability/report.ts';
import { checkFaultMatrix, faultMatrixSection } from '../test/reliability/fault-matrix-check.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const DOCS = join(ROOT, 'docs/reliability');
const FUZZ_CASES = 10_000;
const LONG_FUZZ_CASES = 50_000;
/** The SDK-through-the-emulator targets cost milliseconds a case (one file each, run on both cores): 10,000 in CI too. */
const AWS_FUZZ_CASES = 10_000;
const FLEET_SEED = 20261206;
const DEFAULT_MODE = 'window-20s';
/** The fleets CI simulates; 10,000 hosts take minutes (every throttled retry is an event), so only --long runs it. */
const CI_FLEETS = [100, 1000];
const LONG_FLEETS = [10_000];

const args = new Set(process.argv.slice(2));
const check = args.has('--check');
const long = args.has('--long');
let passed = 0;
let failed = 0;
const verdict = (ok: boolean, what: string) => {
  if (ok) passed += 1;
  else failed += 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'}  ${what}`);
};

/** Runs the fuzz test files with `cases` per target; returns one record per target. */
function runFuzz(cases: number, seed: string, awsCases: number): FuzzRecord[] {
  const dir = mkdtempSync(join(tmpdir(), 'luks-ssm-fuzz-'));
  const out = join(dir, 'records.jsonl');
  try {
    const run = spawnSync(join(ROOT, 'node_modules/.bin/vitest'), ['run', 'test/reliability/fuzz-', '--reporter=dot'], {
      cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, LUKS_SSM_FUZZ_RUNS: String(cases), LUKS_SSM_FUZZ_AWS_RUNS: String(awsCases), LUKS_SSM_FUZZ_SEED: seed, LUKS_SSM_RELIABILITY_OUT: out },
    });
    const records = existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as FuzzRecord & { ms: number }) : [];
    for (const r of records) verdict(!r.failed && r.cases >= Math.min(cases, awsCases), `fuzz ${r.target}: ${r.cases} cases, seed ${r.seed} (${(r.ms / 1000).toFixed(1)} s)`);
    verdict(run.status === 0 && records.length > 0, `fuzz test files pass (vitest exit ${run.status})`);
    // The test files run in parallel and finish in any order: sort, so the recorded files are stable.
    return records
      .map(({ target, cases: c, seed: s, failed: f }) => ({ target, cases: c, seed: s, failed: f }))
      .sort((a, b) => a.target.localeCompare(b.target));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runFleet(hosts: number): Promise<FleetResult[]> {
  const results: FleetResult[] = [];
  for (const mode of RETRY_MODES) {
    const started = performance.now();
    results.push(await simulateFleet(mode, hosts, FLEET_SEED));
    console.log(`      fleet ${hosts} hosts, ${mode.name}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return results;
}

function fleetRecord(hosts: number, results: FleetResult[]): FleetRecord {
  return {
    hosts, tps: SSM_STANDARD_TPS, burst: SSM_STANDARD_BURST, bootSpreadSec: BOOT_SPREAD_MS / 1000, deadlineSec: DEADLINE_MS / 1000,
    results: results.map(({ perSecond: _drop, ...rest }) => rest),
  };
}

/** The README with the block between the reliability markers replaced. */
function withSection(readme: string, body: string): string {
  const pattern = /(<!-- BEGIN reliability[^>]*-->\n)[\s\S]*?(<!-- END reliability -->)/;
  if (!pattern.test(readme)) throw new Error("README.md has no generated section 'reliability'");
  return readme.replace(pattern, (_all, begin: string, end: string) => `${begin}${body.trimEnd()}\n${end}`);
}

const files = new Map<string, string>();
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

const fuzz = runFuzz(FUZZ_CASES, String(FUZZ_SEED), AWS_FUZZ_CASES);
files.set('results/fuzz.json', json(fuzz));
if (long) runFuzz(LONG_FUZZ_CASES, 'random', LONG_FUZZ_CASES);

const fleets: FleetRecord[] = [];
for (const hosts of [...CI_FLEETS, ...LONG_FLEETS]) {
  const name = `results/fleet-${hosts}.json`;
  if (!long && LONG_FLEETS.includes(hosts)) {
    const path = join(DOCS, name);
    if (existsSync(path)) fleets.push(JSON.parse(readFileSync(path, 'utf8')) as FleetRecord);
    else verdict(false, `${name} is missing: run npm run reliability -- --long`);
    continue;
  }
  const results = await runFleet(hosts);
  const record = fleetRecord(hosts, results);
  fleets.push(record);
  files.set(name, json(record));
  if (hosts === 1000) {
    const labels = Object.fromEntries(RETRY_MODES.map((m) => [m.name, m.label]));
    files.set('fleet-1000.svg', await renderSvg(fleetChartSpec(results, labels, SSM_STANDARD_TPS)));
    const d = record.results.find((r) => r.mode === DEFAULT_MODE)!;
    verdict(d.missed === 0, `fleet 1,000: no host misses the ${DEADLINE_MS / 1000} s deadline (${d.missed} missed)`);
    verdict(d.lastKeyVsMinimum <= 1.5, `fleet 1,000: last key within 1.5× of N ÷ TPS (${d.lastKeyVsMinimum}×)`);
    verdict(d.calls.mean <= 2, `fleet 1,000: calls per host ≤ 2 (${d.calls.mean})`);
    const best = [...record.results].filter((r) => r.missed === 0).sort((a, b) => a.calls.total - b.calls.total)[0];
    verdict(best?.mode === DEFAULT_MODE, `fleet 1,000: the default is the mode with no misses and the fewest calls (${best?.mode})`);
  }
}

const matrix = checkFaultMatrix(ROOT, verdict);

// The guest's soak and power-cut records come from VM runs (--vm-records DIR imports them; --long runs the long soak).
const vmRecords = vmRecordsDir(process.argv.slice(2));
if (vmRecords !== undefined && !check) console.log(`      recorded from ${vmRecords}: ${importGuestRecords(vmRecords, join(DOCS, 'results')).join(', ')}`);
if (long && !check) verdict(runLongSoak(ROOT, join(DOCS, 'results')) === 0, 'soak in the guest, 200 cycles (node test/vm/run.ts --only 01,15)');

const labels = Object.fromEntries(RETRY_MODES.map((m) => [m.name, m.label]));
const readmePath = join(ROOT, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const fresh = withSection(readme, `${renderReliabilityMarkdown({ fuzz, fleets, labels, defaultMode: DEFAULT_MODE })}\n\n${faultMatrixSection(matrix)}\n\n${guestRecordsMarkdown(join(DOCS, 'results'))}`);

if (check) {
  for (const [name, text] of files) {
    const path = join(DOCS, name);
    verdict(existsSync(path) && readFileSync(path, 'utf8') === text, `docs/reliability/${name} is up to date`);
  }
  verdict(fresh === readme, 'README.md Reliability section is up to date (else: npm run reliability, commit)');
} else {
  mkdirSync(join(DOCS, 'results'), { recursive: true });
  for (const [name, text] of files) writeFileSync(join(DOCS, name), text);
  writeFileSync(readmePath, fresh);
  console.log(`wrote docs/reliability/ and README.md's Reliability section`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
