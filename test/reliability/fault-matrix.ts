// The README's fault matrix: runs every test file that declares rows (faultRow), reads the rows from vitest's
// JSON report together with each test's verdict, and renders them. A row exists only while its test does.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { FAULT_AREAS, type FaultRow } from './fault-row.ts';

export interface MatrixRow extends FaultRow {
  test: string;
  passed: boolean;
}

export interface FaultMatrix {
  rows: MatrixRow[];
  /** Files that declare rows, relative to the checkout. */
  files: string[];
  /** vitest's exit status (0: every test in those files passed or was skipped). */
  status: number | null;
  /** Tests in those files that were skipped (a row that is skipped is missing from the table). */
  skipped: string[];
}

interface JsonReport {
  testResults: Array<{ name: string; assertionResults: Array<{ fullName: string; status: string; meta?: { faultRow?: FaultRow } }> }>;
}

/** Test files (*.test.ts) that call faultRow(: the registry is the tests themselves. */
export function filesWithRows(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'vm') walk(path);
      else if (entry.name.endsWith('.test.ts') && readFileSync(path, 'utf8').includes('faultRow(')) found.push(relative(root, path));
    }
  };
  walk(join(root, 'test'));
  return found.sort();
}

export function runFaultMatrix(root: string): FaultMatrix {
  const files = filesWithRows(root);
  const dir = mkdtempSync(join(tmpdir(), 'luks-ssm-fault-matrix-'));
  const out = join(dir, 'report.json');
  try {
    const run = spawnSync(join(root, 'node_modules/.bin/vitest'), ['run', ...files, '--reporter=dot', '--reporter=json', `--outputFile.json=${out}`], {
      cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: process.env,
    });
    const report = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as JsonReport) : { testResults: [] };
    const rows: MatrixRow[] = [];
    const skipped: string[] = [];
    for (const file of report.testResults) {
      for (const test of file.assertionResults) {
        if (test.status === 'skipped' || test.status === 'pending') skipped.push(`${relative(root, file.name)}: ${test.fullName}`);
        const row = test.meta?.faultRow;
        if (row !== undefined) rows.push({ ...row, test: test.fullName, passed: test.status === 'passed' });
      }
    }
    // Files run in parallel and finish in any order: sort, so the table is stable.
    const order = (r: MatrixRow): number => FAULT_AREAS.indexOf(r.area);
    rows.sort((a, b) => order(a) - order(b) || a.fault.localeCompare(b.fault) || a.test.localeCompare(b.test));
    return { rows, files, status: run.status, skipped };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const LINE_MAX = 150;

/** The parts of a line that differ run to run or host to host (temp dirs, ports, pids, units, key ids, retry counts) as placeholders. */
export function stableLine(line: string): string {
  const stable = line
    .replace(/\/tmp\/luks-ssm-[A-Za-z0-9_-]+/g, '…')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT')
    .replace(/\bpid \d+/g, 'pid N')
    // Which unit holds a process depends on how the tests were started (a login session, a CI service).
    .replace(/ in unit \S+?(?=[;)])/g, '')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'KEY-ID')
    .replace(/on \d+ attempts over \d+(\.\d+)? s/g, 'on N attempts over T s');
  return stable.length > LINE_MAX ? `${stable.slice(0, LINE_MAX - 1)}…` : stable;
}

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('`', "'");

function checkCell(check: FaultRow['untouched']): string {
  return `${check.problems.length === 0 ? '✓' : '✗'} ${cell(check.what)}`;
}

export function renderFaultMatrix(matrix: FaultMatrix): string {
  const rows = matrix.rows.map((r) => {
    const exit = r.exitCode === r.expectedExitCode ? `${r.exitCode}` : `**${r.exitCode}** (want ${r.expectedExitCode})`;
    const name = r.file.replace(/^test\//, '').replace(/\.test\.ts$/, '');
    const verdict = r.passed ? '' : ' **test failed**';
    return `| ${cell(r.fault)} | ${r.injectedIn} | ${r.expectedExitCode}: ${cell(r.expected)} | ${exit}: \`${cell(stableLine(r.firstLine))}\` | ${checkCell(r.untouched)} | ${checkCell(r.noSecret)} | [${name}](${r.file})${verdict} |`;
  });
  return [
    `${matrix.rows.length} faults, each one test (vitest, the built CLI as a child process unless the test says otherwise); the`,
    'test records its row (test/reliability/fault-row.ts) and this table is built from the test run, so a row cannot',
    'outlive its test, and a row whose test fails fails `npm run reliability -- --check`. Injected in: **emulator** (the',
    'AWS emulator, test/emulator), **fake** (fake cryptsetup/mount/umount on PATH over real LUKS2 headers), **host** (a real',
    'signal, file or tmpfs), **image** (a damaged real ext4 image behind the fake mapping, loop-mounted by the real mount(8)).',
    '"Nothing touched": the device\'s bytes, no mapping, no mount, the mount point\'s contents and',
    'a second volume, open and mounted before the run, all as they were. "No secret": the passphrase (raw, JSON, base64,',
    'hex) appears in none of the places named. The first line has temporary paths, ports and retry counts replaced.',
    '',
    '| fault | injected in | expected | observed: exit, first line | nothing touched | no secret | test |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
