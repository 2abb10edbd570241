// Soak (#14): start/stop cycles of a volume of its own with a writer of checksummed files that needs it; no leaked
// mapping, mount, run file or process, no lost or corrupted write, the start's memory peak flat across cycles.
// The volume's key slot is what `enroll --format` gives a generated key (PBKDF2-SHA512, 1000 iterations; the data
// disk's benchmarked slot costs ~7 s an open under TCG), so a cycle costs what the product costs. It touches nothing
// of the data volume the other scenarios use, so it runs anywhere after 01-install.
// LUKS_SSM_SOAK_CYCLES sets the count (30 in CI, 200 for `npm run reliability -- --long`); the figures go to
// <work dir>/reliability/soak-<cycles>.json, which `npm run reliability -- --vm-records DIR` records in docs/.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MINIMAL_PBKDF, pbkdfArgs } from '../../../src/luks/kdf.ts';
import { createLuksExt4Disk } from '../lib/disk.ts';
import { check, expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';
import { parseSoakOutput, soakProblems } from '../../reliability/guest/soak-record.ts';

export const DEFAULT_SOAK_CYCLES = 30;
/** Cycles per guest step: each step is bounded, and a cycle can take 30 s on a loaded host. */
const CYCLES_PER_STEP = 10;
const STEP_TIMEOUT_MS = 900_000;
const SOAK_SERIAL = 'vol05a0c000000000015';
const SOAK_PATH = '/luks-ssm-vm/soak';
const DISK_MB = 64;

// The soak volume's passphrase, in the form enroll generates (64 random bytes as base64): made with the disk, put in
// the emulator by run(); in this process's memory only.
let soakKey: Buffer | undefined;

function soakCycles(env: NodeJS.ProcessEnv): number {
  const text = env.LUKS_SSM_SOAK_CYCLES ?? String(DEFAULT_SOAK_CYCLES);
  const cycles = Number(text);
  if (!Number.isInteger(cycles) || cycles < 6 || cycles > 1000) throw new Error(`LUKS_SSM_SOAK_CYCLES=${text}: expected a whole number from 6 to 1000`);
  return cycles;
}

const script = (call: string) => `export SOAK_SERIAL=${SOAK_SERIAL} SOAK_PATH=${SOAK_PATH}\n${guestScript('15-soak.sh', call)}`;

export const soak: Scenario = {
  name: '15-soak',
  needsProduct: true,
  hostDisks: [{
    serial: SOAK_SERIAL,
    async make(path) {
      soakKey = Buffer.from(randomBytes(64).toString('base64'));
      await createLuksExt4Disk(path, DISK_MB, soakKey, 'soak', pbkdfArgs(MINIMAL_PBKDF));
    },
  }],
  async run(ctx) {
    check(soakKey !== undefined, 'the soak disk was not made on the host');
    const cycles = soakCycles(process.env);
    await ctx.ensureBooted();
    // Here, not at set-up: an earlier scenario may have restarted the emulator, which then holds the data key only.
    ctx.emulator().putParameter(SOAK_PATH, soakKey.toString('utf8'), { type: 'SecureString' });
    const setup = expectSuccess(await ctx.vm.run('soak set-up', script('soak_setup'), 300_000), 'soak set-up');
    let output = setup.stdout;
    for (let first = 1; first <= cycles; first += CYCLES_PER_STEP) {
      const last = Math.min(cycles, first + CYCLES_PER_STEP - 1);
      const result = await ctx.vm.run(`soak cycles ${first}-${last} of ${cycles}`, script(`soak_cycles ${first} ${last}`), STEP_TIMEOUT_MS);
      output += result.stdout;
      expectSuccess(result, `soak cycles ${first}-${last}`);
    }
    output += expectSuccess(await ctx.vm.run('soak final check', script('soak_finish'), 300_000), 'soak final check').stdout;
    const record = parseSoakOutput(output, new Date());
    const dir = join(ctx.workDir, 'reliability');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `soak-${cycles}.json`);
    writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
    ctx.progress(`soak: ${record.cycles} cycles (median ${record.cycleSec?.median} s), ${record.writes.written} files written, ${record.writes.bad} bad, ` +
      `${record.leaked} leaks, memory peak first/last/max ${record.peakMiB.first}/${record.peakMiB.last}/${record.peakMiB.max} MiB (${file})`);
    check(record.cycles === cycles, `expected ${cycles} cycle lines from the guest, got ${record.cycles}`);
    const problems = soakProblems(record);
    check(problems.length === 0, problems.join('; '));
  },
};
