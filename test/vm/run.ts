// Runs the VM scenarios: `node test/vm/run.ts [--distro RELEASE] [--deb PATH] [--only NAMES] [--work DIR] [--memory MB]`.
// Builds or reuses the release's cached guest image, boots one guest per suite (real reboots where a scenario
// needs them), prints a progress line per step, PASS/FAIL per scenario and, last, exactly `N passed, N failed`.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CACHE_ROOT, DEFAULT_DISTRO, DISTROS, ensureImage, type Distro } from './lib/image.ts';
import { checkHost } from './lib/preflight.ts';
import { createReporter } from './lib/report.ts';
import { isHarnessFailure, scenarioDistros, type Scenario } from './lib/scenario.ts';
import { setUpRun, type RunSetup } from './lib/setup.ts';
import { lockWorkDir } from './lib/work-lock.ts';
import { OPT_IN_SCENARIOS, SCENARIOS } from './scenarios/index.ts';

const REPO = new URL('../../', import.meta.url).pathname;
const USAGE = `usage: node test/vm/run.ts [--distro RELEASE] [--deb PATH] [--only NAME,...] [--work DIR] [--memory MB] [--list]
       node test/vm/run.ts --distro RELEASE --build-image
  RELEASE: ${DISTROS.join(', ')} (default ${DEFAULT_DISTRO}); --build-image only builds or checks its cached image
  image cache: $LUKS_SSM_VM_CACHE, else ${DEFAULT_CACHE_ROOT}`;

/** The newest dist/luks-ssm_<version>_amd64.deb, as `npm run package` leaves it. */
function findDeb(): string | undefined {
  const dist = join(REPO, 'dist');
  if (!existsSync(dist)) return undefined;
  return readdirSync(dist)
    .filter((name) => /^luks-ssm_.+_amd64\.deb$/.test(name))
    .map((name) => join(dist, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

/** The release's scenarios, narrowed to --only's names (a name or its number prefix) when given; opt-in ones only by name. */
function selectScenarios(distro: Distro, only: string | undefined): Scenario[] {
  const ofDistro = (list: Scenario[]) => list.filter((s) => scenarioDistros(s).includes(distro));
  if (only === undefined) return ofDistro(SCENARIOS);
  const wanted = only.split(',').map((name) => name.trim());
  return ofDistro([...SCENARIOS, ...OPT_IN_SCENARIOS]).filter((s) => wanted.some((w) => s.name === w || s.name.startsWith(`${w}-`)));
}

function isDistro(name: string): name is Distro {
  return (DISTROS as readonly string[]).includes(name);
}

/** A run that cannot start still ends with the summary line that scripts/test-all.sh counts. */
function refuse(lines: string[], code: number): number {
  console.error(lines.join('\n'));
  console.log('0 passed, 1 failed');
  return code;
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        deb: { type: 'string' }, only: { type: 'string' }, work: { type: 'string' },
        memory: { type: 'string', default: '1536' }, list: { type: 'boolean', default: false },
        distro: { type: 'string', default: DEFAULT_DISTRO }, 'build-image': { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    return refuse([(error as Error).message, USAGE], 2);
  }
  const distro = values.distro;
  if (!isDistro(distro)) return refuse([`--distro ${distro}: expected one of ${DISTROS.join(', ')}`, USAGE], 2);
  if (values.list) {
    for (const s of [...SCENARIOS, ...OPT_IN_SCENARIOS]) {
      const optIn = OPT_IN_SCENARIOS.includes(s) ? ' (opt-in: --only)' : '';
      console.log(`${s.name} [${scenarioDistros(s).join(', ')}]${s.needsProduct ? '' : ' (no product needed)'}${optIn}`);
    }
    return 0;
  }
  if (values.deb !== undefined && !existsSync(values.deb)) {
    return refuse([`--deb ${values.deb}: no such file (build it with \`npm run package\`)`, USAGE], 2);
  }
  const memoryMb = Number(values.memory);
  // 512: the smallest guest measured to boot, install the .deb and unlock (13-small-instance, the 512 MiB instance).
  if (!Number.isInteger(memoryMb) || memoryMb < 512 || memoryMb > 8192) {
    return refuse([`--memory ${values.memory}: expected MiB between 512 and 8192`, USAGE], 2);
  }
  const scenarios = selectScenarios(distro, values.only);
  if (scenarios.length === 0 && !values['build-image']) {
    const names = selectScenarios(distro, undefined).map((s) => s.name).join(', ');
    return refuse([`--only ${values.only}: no such scenario for ${distro} (${names})`, USAGE], 2);
  }
  const problems = checkHost(process.env.PATH ?? '', process.getuid?.() ?? -1);
  if (problems.length > 0) return refuse(['cannot run the VM tests:', ...problems.map((p) => `  ${p}`)], 1);
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
    const image = await ensureImage(progress, distro, process.env.LUKS_SSM_VM_CACHE || DEFAULT_CACHE_ROOT);
    progress(`${distro} guest image ${image.dir} (${image.built ? 'built' : 'cached'}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    if (values['build-image']) {
      reporter.pass(`${distro}/image`, (Date.now() - started) / 1000);
      return reporter.summary() > 0 ? 1 : 0;
    }
    progress(deb ? `luks-ssm package: ${deb}` : 'luks-ssm package: none found in dist/ (scenarios that need it fail)');
    const workDir = values.work ?? join(REPO, '.vm-work', distro);
    mkdirSync(dirname(workDir), { recursive: true });
    unlock = lockWorkDir(workDir);
    // A boot with luks-ssm start jobs under TCG took over 240 s on a 2-core host shared with other builds.
    setup = await setUpRun({
      image, deb, workDir, memoryMb,
      bootTimeoutMs: 420_000, hostDisks: scenarios.flatMap((s) => s.hostDisks ?? []), progress,
    });
    for (const scenario of scenarios) {
      const t0 = Date.now();
      const seconds = () => (Date.now() - t0) / 1000;
      // Named with the release: CI runs every release's suite and its summary lists failures by name.
      const name = `${distro}/${scenario.name}`;
      if (scenario.needsProduct && !deb) {
        reporter.fail(name, 'no luks-ssm .deb: run `npm run package` or pass --deb PATH', 0);
        continue;
      }
      progress(`scenario ${name}`);
      const retriedBefore = setup.vm.bootsRetriedAfterPanic();
      try {
        await scenario.run(setup.ctx);
        const retried = setup.vm.bootsRetriedAfterPanic() - retriedBefore;
        reporter.pass(name, seconds(), retried === 0 ? undefined : `${retried} boot(s) started again after a guest kernel panic, trace above`);
      } catch (error) {
        reporter.fail(name, (error as Error).message, seconds());
        if (isHarnessFailure(error)) {
          progress('guest state unknown after that failure: killing it (the next scenario boots afresh)');
          await setup.vm.kill();
        }
      }
    }
  } catch (error) {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    reporter.fail(`${distro}/setup`, (error as Error).message, 0);
  } finally {
    const retried = setup?.vm.bootsRetriedAfterPanic() ?? 0;
    if (retried > 0) progress(`${retried} boot(s) started again after a guest kernel panic (trace above)`);
    await setup?.teardown();
    unlock();
  }
  return reporter.summary() > 0 ? 1 : 0;
}

process.exitCode = await main();
