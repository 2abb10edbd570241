// Reads each suite's result and prints one "N passed, N failed" line; `sum` adds those lines up (exit 1 on failures)
// and lists the failing tests' names under their suite, so a red run says what failed without scrolling.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const LINE = /(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/;
/** A failing test's name in a .count file, above its count line. */
const FAILED = 'FAILED ';
/** How the packaging checks (test/packaging/lib/assert.sh) and the VM runner (test/vm/lib/report.ts) name a failure. */
const LOG_FAILURE = /^(?:not ok {2}(.+)|FAIL (\S+?):? .*|FAIL (\S+))$/;
const NAMES_MAX = 30;

const [mode, ...files] = process.argv.slice(2);

function fromVitest(file) {
  try {
    const report = JSON.parse(readFileSync(file, 'utf8'));
    const names = [];
    for (const r of report.testResults) {
      const where = relative(process.cwd(), r.name);
      // A file that failed to load counts as one failure even though no test in it ran.
      if (r.status === 'failed' && r.assertionResults.length === 0) names.push(`${where} (did not load)`);
      for (const a of r.assertionResults) if (a.status === 'failed') names.push(`${where} › ${a.fullName}`);
    }
    const brokenFiles = report.testResults.filter((r) => r.status === 'failed' && r.assertionResults.length === 0).length;
    return { passed: report.numPassedTests, failed: report.numFailedTests + brokenFiles, skipped: report.numPendingTests + report.numTodoTests, names };
  } catch {
    return { passed: 0, failed: 1, skipped: 0, names: [`${file}: no vitest report`] };
  }
}

/** A suite's log: the names of its failures, then its last line (its count). */
function fromLog(file) {
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  const names = lines.map((l) => LOG_FAILURE.exec(l)).filter(Boolean).map((m) => m[1] ?? m[2] ?? m[3]);
  return [...names.map((n) => FAILED + n), lines.at(-1) ?? ''].join('\n');
}

function fromCount(file) {
  const text = readFileSync(file, 'utf8').trim();
  const names = text.split('\n').filter((l) => l.startsWith(FAILED)).map((l) => l.slice(FAILED.length));
  const match = LINE.exec(text);
  // A suite that printed no total did not finish: that is a failure, never a silent zero.
  if (!match) return { passed: 0, failed: 1, skipped: 0, missing: true, names };
  return { passed: Number(match[1]), failed: Number(match[2]), skipped: Number(match[3] ?? 0), names };
}

const format = (c) => `${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped` : ''}`;

if (mode === 'vitest') {
  const c = fromVitest(files[0]);
  for (const name of c.names) console.log(FAILED + name);
  console.log(format(c));
} else if (mode === 'log') {
  console.log(fromLog(files[0]));
} else if (mode === 'sum') {
  const total = { passed: 0, failed: 0, skipped: 0 };
  for (const file of files) {
    const c = fromCount(file);
    const name = file.replace(/^.*\//, '').replace(/\.count$/, '');
    console.log(`${name.padEnd(10)} ${c.missing ? 'no result line (counted as 1 failure)' : format(c)}`);
    for (const failed of c.names.slice(0, NAMES_MAX)) console.log(`  failed: ${failed}`);
    if (c.names.length > NAMES_MAX) console.log(`  … and ${c.names.length - NAMES_MAX} more`);
    total.passed += c.passed;
    total.failed += c.failed;
    total.skipped += c.skipped;
  }
  console.log(format(total));
  process.exitCode = total.failed > 0 || total.passed === 0 ? 1 : 0;
} else {
  console.error('usage: count-results.mjs vitest FILE | log FILE | sum FILE...');
  process.exitCode = 2;
}
