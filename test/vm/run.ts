// Runs the VM scenarios: `node test/vm/run.ts [--deb PATH] [--only NAMES] [--work DIR] [--memory MB]`.
// Builds or reuses the cached guest image, boots one guest per suite (real reboots where a scenario needs
// them), prints a progress line per step, PASS/FAIL per scenario and, last, exactly `N passed, N failed`.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureImage } from './lib/image.ts';
import { createReporter } from './lib/report.ts';
import { isHarnessFailure, type Scenario } from './lib/scenario.ts';
import { setUpRun, type RunSetup } from './lib/setup.ts';
import { lockWorkDir } from './lib/work-lock.ts';
import { SCENARIOS } from './scenarios/index.ts';

const REPO = new URL('../../', import.meta.url).pathname;
const USAGE = 'usage: node test/vm/run.ts [--deb PATH] [--only NAME,...] [--work DIR] [--memory MB] [--list]';

/** The newest dist/luks-ssm_<version>_amd64.deb, as `npm run package` leaves it. */
function findDeb(): string | undefined {
  const dist = join(REPO, 'dist');
  if (!existsSync(dist)) return undefined;
  return readdirSync(dist)
    .filter((name) => /^luks-ssm_.+_amd64\.deb$/.test(name))
    .map((name) => join(dist, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

function selectScenarios(only: string | undefined): Scenario[] {
  if (only === undefined) return SCENARIOS;
  const wanted = only.split(',').map((name) => name.trim());
  const chosen = SCENARIOS.filter((s) => wanted.some((w) => s.name === w || s.name.startsWith(`${w}-`)));
  if (chosen.length === 0) throw new Error(`--only ${only}: no such scenario (${SCENARIOS.map((s) => s.name).join(', ')})`);
  return chosen;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      deb: { type: 'string' }, only: { type: 'string' }, work: { type: 'string' },
      memory: { type: 'string', default: '1536' }, list: { type: 'boolean', default: false },
    },
  });
  if (values.list) {
    for (const s of SCENARIOS) console.log(`${s.name}${s.needsProduct ? '' : ' (no product needed)'}`);
    return 0;
  }
  if (values.deb !== undefined && !existsSync(values.deb)) {
    console.error(`--deb ${values.deb}: no such file (build it with \`npm run package\`)\n${USAGE}`);
    return 2;
  }
  const scenarios = selectScenarios(values.only);
  const deb = values.deb ?? findDeb();
  const reporter = createReporter();
  const { progress } = reporter;
  let setup: RunSetup | undefined;
  let unlock = () => {};
  const onSignal = (signal: NodeJS.Signals) => {
    progress(`${signal}: stopping the guest and the emulator`);
    void (setup?.teardown() ?? Promise.resolve()).finally(() => {
      unlock();
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);

  try {
    const started = Date.now();
    const image = await ensureImage(progress);
    progress(`guest image ${image.dir} (${image.built ? 'built' : 'cached'}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    progress(deb ? `luks-ssm package: ${deb}` : 'luks-ssm package: none found in dist/ (scenarios that need it fail)');
    const workDir = values.work ?? join(REPO, '.vm-work');
    unlock = lockWorkDir(workDir);
    setup = await setUpRun({
      image, deb, workDir, memoryMb: Number(values.memory),
      bootTimeoutMs: 240_000, progress,
    });
    for (const scenario of scenarios) {
      const t0 = Date.now();
      const seconds = () => (Date.now() - t0) / 1000;
      if (scenario.needsProduct && !deb) {
        reporter.fail(scenario.name, 'no luks-ssm .deb: run `npm run package` or pass --deb PATH', 0);
        continue;
      }
      progress(`scenario ${scenario.name}`);
      try {
        await scenario.run(setup.ctx);
        reporter.pass(scenario.name, seconds());
      } catch (error) {
        reporter.fail(scenario.name, (error as Error).message, seconds());
        if (isHarnessFailure(error)) {
          progress('guest state unknown after that failure: killing it (the next scenario boots afresh)');
          await setup.vm.kill();
        }
      }
    }
  } catch (error) {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    reporter.fail('setup', (error as Error).message, 0);
  } finally {
    await setup?.teardown();
    unlock();
  }
  return reporter.summary() > 0 ? 1 : 0;
}

process.exitCode = await main();
