// npm run bench: start-up of the BUILT luks-ssm (process start to passphrase in hand) against `node -e 0`
// and the AWS CLI, interleaved in one process, under deployment conditions (no NODE_OPTIONS/EXTRA_CA_CERTS).
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CAN_FETCH, FETCHED, startFetchFixture } from './build/fetch-fixture.ts';
import { expectSuccess, GNU_TIME, median, runTimed, runWithCpu, runWithPeakRss } from './build/measure.mjs';
import { awsCliCommand } from './build/aws-cli.mjs';
import { NODE_FLAGS } from './build/node-flags.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const RSS_RUNS = 5;
const LOADER = fileURLToPath(new URL('../build/luks-ssm.cjs', import.meta.url));

if (!existsSync(LOADER)) throw new Error('build/luks-ssm.cjs is missing: run `npm run build` first');
if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} is missing (peak RSS): apt-get install time`);
if (!CAN_FETCH) throw new Error('npm run bench must run as root: luks-ssm refuses config files not owned by root');

const fixture = await startFetchFixture();
try {
  const aws = await awsCliCommand(fixture);
  const subjects = [
    { label: 'node -e 0', file: process.execPath, args: ['-e', '0'], env: fixture.env, expect: /^$/ },
    // As /usr/sbin/luks-ssm runs it: the bundled loader with the launcher's Node flags.
    { label: 'luks-ssm fetch (built)', file: process.execPath, args: [...NODE_FLAGS, LOADER, ...fixture.args], env: fixture.env, expect: FETCHED },
    { label: '  same, IMDS credentials', file: process.execPath, args: [...NODE_FLAGS, LOADER, ...fixture.args], env: fixture.imdsEnv, expect: FETCHED },
  ];
  if (aws) subjects.push({ label: 'aws ssm get-parameters', ...aws, expect: /"Parameters"/ });
  else console.log('aws: not installed, AWS CLI row skipped');

  console.log(`node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)}; children get a fresh environment (no NODE_OPTIONS, no NODE_EXTRA_CA_CERTS)`);
  const cache = await runTimed(process.execPath, subjects[1].args, { ...fixture.env, LUKS_SSM_DEBUG_CACHE: '1' });
  console.log(`code cache: ${/^cache: (\w+)/m.exec(cache.stderr)?.[1] ?? 'unknown'}`);

  const times = subjects.map(() => []);
  const cpuMs = subjects.map(() => []);
  const peaks = subjects.map(() => []);
  for (let round = -2; round < RUNS; round++) {
    for (const [i, s] of subjects.entries()) {
      const run = expectSuccess(s.label, await runTimed(s.file, s.args, s.env), s.expect);
      if (round >= 0) times[i].push(run.ms);
      if (round >= 0) cpuMs[i].push(expectSuccess(s.label, await runWithCpu(s.file, s.args, s.env), s.expect).cpuMs);
      if (round >= 0 && round < RSS_RUNS) peaks[i].push(expectSuccess(s.label, await runWithPeakRss(s.file, s.args, s.env), s.expect).peakKb);
    }
  }

  console.log(`${RUNS} interleaved runs each (after 2 warm-ups); median (min-max) of spawn-to-exit; CPU (user+sys) median; peak RSS median of ${Math.min(RUNS, RSS_RUNS)}`);
  const base = median(times[0]);
  for (const [i, s] of subjects.entries()) {
    const ms = times[i];
    const rss = Math.round(median(peaks[i]) / 1024);
    const ratio = (median(ms) / base).toFixed(2);
    const cpu = `${median(cpuMs[i]).toFixed(0)} ms CPU`;
    console.log(`  ${s.label.padEnd(24)} ${median(ms).toFixed(1).padStart(7)} ms (${Math.min(...ms).toFixed(1)}-${Math.max(...ms).toFixed(1)})  ${ratio.padStart(6)}x  ${cpu.padStart(11)}  ${String(rss).padStart(3)} MiB`);
  }
  const ratio = median(times[1]) / base;
  console.log(`load average now ${loadavg()[0].toFixed(1)} (above ~1 per CPU the figures are noisy: rerun on a quiet machine)`);
  console.log(`fetch vs node -e 0: ${ratio.toFixed(2)}x (target <= 2.5x, stretch 2.0x); peak RSS target <= 60 MiB`);
  console.log(`fetch vs node -e 0 in CPU time (steadier on a busy machine): ${(median(cpuMs[1]) / median(cpuMs[0])).toFixed(2)}x`);
  console.log(`fetch_vs_node_ratio=${ratio.toFixed(2)}`);
  console.log(`fetch_peak_rss_mb=${Math.round(median(peaks[1]) / 1024)}`);
} finally {
  await fixture.stop();
}
