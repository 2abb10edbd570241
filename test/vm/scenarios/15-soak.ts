// Soak (#14): start/stop cycles of the data volume with a writer of checksummed files that needs it; no leaked
// mapping, mount, run file or process, no lost or corrupted write, the start's memory peak flat across cycles.
// LUKS_SSM_SOAK_CYCLES sets the count (30 in CI, 200 for `npm run reliability -- --long`); the figures go to
// <work dir>/reliability/soak-<cycles>.json, which `npm run reliability -- --vm-records DIR` records in docs/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';
import { parseSoakOutput, soakProblems } from '../../reliability/guest/soak-record.ts';

export const DEFAULT_SOAK_CYCLES = 30;
/** Cycles per guest step: each step is bounded, and a cycle can take 30 s on a loaded host. */
const CYCLES_PER_STEP = 5;
const STEP_TIMEOUT_MS = 900_000;

function soakCycles(env: NodeJS.ProcessEnv): number {
  const text = env.LUKS_SSM_SOAK_CYCLES ?? String(DEFAULT_SOAK_CYCLES);
  const cycles = Number(text);
  if (!Number.isInteger(cycles) || cycles < 6 || cycles > 1000) throw new Error(`LUKS_SSM_SOAK_CYCLES=${text}: expected a whole number from 6 to 1000`);
  return cycles;
}

export const soak: Scenario = {
  name: '15-soak',
  needsProduct: true,
  async run(ctx) {
    const cycles = soakCycles(process.env);
    await ctx.ensureBooted();
    const setup = expectSuccess(await ctx.vm.run('soak set-up', guestScript('15-soak.sh', 'soak_setup'), 300_000), 'soak set-up');
    let output = setup.stdout;
    for (let first = 1; first <= cycles; first += CYCLES_PER_STEP) {
      const last = Math.min(cycles, first + CYCLES_PER_STEP - 1);
      const result = await ctx.vm.run(`soak cycles ${first}-${last} of ${cycles}`, guestScript('15-soak.sh', `soak_cycles ${first} ${last}`), STEP_TIMEOUT_MS);
      output += result.stdout;
      expectSuccess(result, `soak cycles ${first}-${last}`);
    }
    output += expectSuccess(await ctx.vm.run('soak final check', guestScript('15-soak.sh', 'soak_finish'), 300_000), 'soak final check').stdout;
    const record = parseSoakOutput(output, new Date());
    const dir = join(ctx.workDir, 'reliability');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `soak-${cycles}.json`);
    writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
    ctx.progress(`soak: ${record.cycles} cycles, ${record.writes.written} files written, ${record.writes.bad} bad, ${record.leaked} leaks, ` +
      `memory peak first/last/max ${record.peakMiB.first}/${record.peakMiB.last}/${record.peakMiB.max} MiB (${file})`);
    check(record.cycles === cycles, `expected ${cycles} cycle lines from the guest, got ${record.cycles}`);
    const problems = soakProblems(record);
    check(problems.length === 0, problems.join('; '));
  },
};
