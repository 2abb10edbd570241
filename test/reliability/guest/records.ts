// The guest's reliability records (soak, power cuts): copied from a VM run's work dir into docs/reliability/results/,
// and rendered for the README's Reliability section. The VM runs write them; `npm run reliability` never boots one
// except with --long (the 200-cycle soak).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { POWER_CUT_STEPS, type PowerCutRecord, type PowerCutRow } from './power-cut-record.ts';
import { PEAK_GROWTH_MAX, type SoakRecord } from './soak-record.ts';

export const SOAK_CI_CYCLES = 30;
export const SOAK_LONG_CYCLES = 200;
const SOAK_FILES = [SOAK_CI_CYCLES, SOAK_LONG_CYCLES].map((n) => `soak-${n}.json`);
const POWER_CUT_FILE = 'power-cut.json';

/** The DIR of `--vm-records DIR` or `--vm-records=DIR`; undefined when absent. */
export function vmRecordsDir(argv: string[]): string | undefined {
  const i = argv.findIndex((a) => a === '--vm-records' || a.startsWith('--vm-records='));
  if (i < 0) return undefined;
  const value = argv[i]!.includes('=') ? argv[i]!.slice('--vm-records='.length) : argv[i + 1];
  if (value === undefined || value === '') throw new Error('--vm-records needs a VM work dir (e.g. .vm-work/bookworm)');
  return value;
}

/** Copies the records a VM run left in `<workDir>/reliability/` into `resultsDir`; returns the names copied. */
export function importGuestRecords(workDir: string, resultsDir: string): string[] {
  const from = join(workDir, 'reliability');
  const names = [...SOAK_FILES, POWER_CUT_FILE].filter((name) => existsSync(join(from, name)));
  if (names.length === 0) throw new Error(`${from}: no soak or power-cut record (run node test/vm/run.ts --only 01,15 or --only 01,16 first)`);
  for (const name of names) copyFileSync(join(from, name), join(resultsDir, name));
  return names;
}

function read<T>(path: string): T | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined;
}

const n = (x: number) => x.toLocaleString('en-US');

function soakSection(records: SoakRecord[]): string[] {
  if (records.length === 0) return ['Not recorded yet: `node test/vm/run.ts --only 01,15`, then `npm run reliability -- --vm-records .vm-work/bookworm`.'];
  const g = records[0]!.guest;
  return [
    'Start/stop cycles of a volume of its own in the Debian guest (QEMU, real dm-crypt and systemd: test/vm/scenarios/15-soak),',
    'its key slot what `enroll --format` gives a generated key (PBKDF2-SHA512, 1000 iterations). Each cycle: `systemctl start',
    'luks-ssm@soak`; every file written in earlier cycles checked against its SHA-256; a unit that needs the volume writes',
    '4 KiB files (a temporary name, a rename, then the checksum to a witness list on the root disk) until `systemctl stop',
    'luks-ssm@soak` stops it, unmounts and closes. Then nothing may be left: no mount, no dm-crypt mapping, nothing in',
    '/run/luks-ssm but its lock files, no luks-ssm process; at the end the data volume is as the soak found it. CI runs',
    '30 cycles in the Debian 12 suite; `npm run reliability -- --long` runs 200.',
    '',
    '| cycles | recorded | files written / checked at the end | lost or corrupted | leaks after a stop | start, median / max | cycle, median / max | memory peak of a start, MiB: first / last / min / max |',
    '| ---: | --- | --- | ---: | ---: | --- | --- | --- |',
    ...records.map((r) => `| ${n(r.cycles)} | ${r.date}, Debian ${r.guest.debian}, luks-ssm ${r.guest.luksSsm} | ${n(r.writes.written)} / ${n(r.writes.checked)} | ${r.writes.bad} | ${r.leaked} | ${r.startSec.median} / ${r.startSec.max} s | ${r.cycleSec ? `${r.cycleSec.median} / ${r.cycleSec.max} s` : 'not recorded'} | ${r.peakMiB.first} / ${r.peakMiB.last} / ${r.peakMiB.min} / ${r.peakMiB.max} |`),
    '',
    `Memory peak: the cgroup v2 \`memory.peak\` of luks-ssm@soak.service read right after each start (kernel ${g.kernel},`,
    `systemd ${g.systemd}): \`luks-ssm start\` with its children (cryptsetup, mount) and the page cache charged to them, in a new`,
    `cgroup each cycle. Flat means the last 5 cycles' highest peak stays within ${PEAK_GROWTH_MAX}× the median of cycles 2–6 (cycle 1`,
    'also reads the runtime into the page cache). Times are TCG guest times on a shared 2-core host, not a benchmark.',
  ];
}

const VERB_NAMES: Record<string, string> = { enroll: '`enroll --add-to-existing`', rotate: '`rotate`' };

function cell(row: PowerCutRow | undefined): string {
  if (row === undefined) return 'not run yet';
  const stopped = row.stoppedAfterStep ? '' : ' (finished before the cut)';
  const second = row.rerunExit === 0 ? (row.opensAfterRerun ? 'completed, opens' : 'completed, **does not open**') : `**exit ${row.rerunExit}**`;
  return `${row.opened === 'no' ? '**did not open**' : `opened (${row.opened})`}${stopped}; second run ${second}`;
}

function powerCutSection(record: PowerCutRecord | undefined): string[] {
  if (record === undefined) return ['Not recorded yet: `node test/vm/run.ts --only 01,16`, then `npm run reliability -- --vm-records .vm-work/bookworm`.'];
  const steps = (Object.keys(POWER_CUT_STEPS) as Array<keyof typeof POWER_CUT_STEPS>).flatMap((verb) => POWER_CUT_STEPS[verb].map((step) => ({ verb, step })));
  return [
    `Recorded ${record.date} in the Debian 12 guest (test/vm/scenarios/16-power-cut, opt-in: one boot per step). The verb runs`,
    'on two volumes at once (key source ssm on one disk, kms on another) and each run is stopped (SIGSTOP) right after the',
    'step\'s log line; then the host kills QEMU, so the guest loses its page cache and every process, and boots again.',
    'There the volume must open (after `rotate`: its unit at boot, with the data intact; after `enroll`, which does not',
    'enable it yet: the passphrase it had before) and the same verb, run again, must complete and leave a volume that',
    'luks-ssm opens with the data intact.',
    '',
    '| verb | power cut after | ssm | kms |',
    '| --- | --- | --- | --- |',
    ...steps.map((s) => {
      const of = (source: string) => record.rows.find((r) => r.verb === s.verb && r.step === s.step && r.source === source);
      return `| ${VERB_NAMES[s.verb] ?? s.verb} | ${s.step} | ${cell(of('ssm'))} | ${cell(of('kms'))} |`;
    }),
    '',
    '`luks-ssm start` killed with SIGKILL after `cryptsetup open` and before the mount: the next start mounts the open',
    'mapping (test/vm/scenarios/17-killed-start, in CI).',
  ];
}

/** The guest part of the README's Reliability section, from the records in `resultsDir`. */
export function guestRecordsMarkdown(resultsDir: string): string {
  const soaks = SOAK_FILES.map((name) => read<SoakRecord>(join(resultsDir, name))).filter((r): r is SoakRecord => r !== undefined);
  return [
    '### Soak in the guest',
    '',
    ...soakSection(soaks),
    '',
    '### Power cuts in the guest',
    '',
    ...powerCutSection(read<PowerCutRecord>(join(resultsDir, POWER_CUT_FILE))),
  ].join('\n');
}

/**
 * --long: the 200-cycle soak in a guest of its own (`node test/vm/run.ts --only 01,15`: root, QEMU and a .deb in
 * dist/ needed), its record then imported. Returns the VM run's exit status.
 */
export function runLongSoak(root: string, resultsDir: string): number {
  const workDir = join(root, '.vm-work', 'soak-long');
  const run = spawnSync(process.execPath, ['test/vm/run.ts', '--only', '01,15', '--work', workDir], {
    cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, LUKS_SSM_SOAK_CYCLES: String(SOAK_LONG_CYCLES) },
  });
  if (run.status === 0) importGuestRecords(workDir, resultsDir);
  return run.status ?? 1;
}
