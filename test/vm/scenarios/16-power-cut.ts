// Power cuts (#14): `enroll --add-to-existing` and `rotate` stopped right after each of their steps, for both key
// sources at once; then QEMU is killed (the guest loses power: its page cache and running processes) and a fresh
// boot must open each volume and complete the verb on a second run. One boot per step (10), so opt-in:
// `--only 01,16`; LUKS_SSM_POWER_CUT=enroll:store,rotate:add-key picks some. The rows go to
// <work dir>/reliability/power-cut.json, which `npm run reliability -- --vm-records DIR` records in docs/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, expectSuccess, guestScript, type Scenario, type ScenarioContext } from '../lib/scenario.ts';
import { parsePowerCut, POWER_CUT_STEPS, powerCutProblems, type PowerCutRecord, type PowerCutRow } from '../../reliability/guest/power-cut-record.ts';

type Verb = keyof typeof POWER_CUT_STEPS;

function selected(env: NodeJS.ProcessEnv): Array<[Verb, string]> {
  const all = (Object.keys(POWER_CUT_STEPS) as Verb[]).flatMap((verb) => POWER_CUT_STEPS[verb].map((step): [Verb, string] => [verb, step]));
  const text = env.LUKS_SSM_POWER_CUT;
  if (text === undefined || text === '') return all;
  const wanted = text.split(',').map((s) => s.trim());
  const unknown = wanted.filter((w) => !all.some(([verb, step]) => `${verb}:${step}` === w));
  if (unknown.length > 0) throw new Error(`LUKS_SSM_POWER_CUT=${text}: unknown ${unknown.join(', ')} (verb:step, e.g. rotate:add-key)`);
  return all.filter(([verb, step]) => wanted.includes(`${verb}:${step}`));
}

const script = (call: string) => guestScript('16-power-cut.sh', call);

async function guestStep(ctx: ScenarioContext, label: string, call: string, timeoutMs = 600_000) {
  return expectSuccess(await ctx.vm.run(label, script(call), timeoutMs), label);
}

/** Stops the verb after `step`, cuts the power, boots, and returns the rows of the boot's checks. */
async function cutAt(ctx: ScenarioContext, verb: Verb, step: string): Promise<PowerCutRow[]> {
  const cut = await guestStep(ctx, `${verb} stopped after ${step}`, `pc_cut ${verb} ${step}`);
  ctx.progress(`power cut: killing QEMU with ${verb} stopped after ${step}`);
  await ctx.vm.kill();
  const after = await ctx.vm.start(script(`pc_after_cut ${verb} ${step}`));
  ctx.progress(`boot after the cut: exit ${after.status}: ${after.stdout.split('\n').filter((l) => l.startsWith('after ')).join(' | ')}`);
  const rows = parsePowerCut(cut.stdout, after.stdout);
  check(rows.length === 2, `${verb} at ${step}: expected a row per volume, got ${rows.length}: ${cut.stdout} ${after.stderr}`);
  return rows;
}

/** Writes the rows so far (after every cut: a run stopped half-way still leaves what it saw). */
function writeRecord(ctx: ScenarioContext, rows: PowerCutRow[]): void {
  const order = (r: PowerCutRow) => (r.verb === 'enroll' ? 0 : 100) + (POWER_CUT_STEPS[r.verb] as readonly string[]).indexOf(r.step);
  const record: PowerCutRecord = { date: new Date().toISOString().slice(0, 10), rows: [...rows].sort((a, b) => order(a) - order(b)) };
  const dir = join(ctx.workDir, 'reliability');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'power-cut.json'), `${JSON.stringify(record, null, 2)}\n`);
}

export const powerCut: Scenario = {
  name: '16-power-cut',
  needsProduct: true,
  async run(ctx) {
    const cuts = selected(process.env);
    await ctx.ensureBooted();
    const rows: PowerCutRow[] = [];
    // Interleaved (enroll at step i, then rotate at step i on the volumes it left), so a run cut short still has both.
    const enrolls = cuts.filter(([v]) => v === 'enroll');
    const rotations = cuts.filter(([v]) => v === 'rotate');
    let enrolled = false;
    for (let i = 0; i < Math.max(enrolls.length, rotations.length); i++) {
      const enroll = enrolls[i];
      if (enroll !== undefined) {
        await guestStep(ctx, 'fresh volumes', `pc_fresh_volumes enroll-${enroll[1]}`);
        rows.push(...(await cutAt(ctx, ...enroll)));
        writeRecord(ctx, rows);
        enrolled = true;
      }
      const rotate = rotations[i];
      if (rotate === undefined) continue;
      if (!enrolled) {
        await guestStep(ctx, 'fresh volumes', 'pc_fresh_volumes rotate');
        const done = await guestStep(ctx, 'enroll', 'pc_cut enroll none');
        check(done.stdout.split('stopped=no exit=0 ').length === 3, `enroll before the rotations failed: ${done.stdout}`);
        enrolled = true;
      }
      await guestStep(ctx, 'enable for rotate', 'pc_ready_for_rotate');
      rows.push(...(await cutAt(ctx, ...rotate)));
      writeRecord(ctx, rows);
    }
    const problems = powerCutProblems(rows);
    check(problems.length === 0, problems.join('; '));
  },
};
