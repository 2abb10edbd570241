// Reads each suite's result and prints one "N passed, N failed" line; `sum` adds those lines up (exit 1 on failures).
import { readFileSync } from 'node:fs';

const LINE = /(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/;
const [mode, ...files] = process.argv.slice(2);

function fromVitest(file) {
  try {
    const report = JSON.parse(readFileSync(file, 'utf8'));
    // A file that failed to load counts as one failure even though no test in it ran.
    const brokenFiles = report.testResults.filter((r) => r.status === 'failed' && r.assertionResults.length === 0).length;
    return { passed: report.numPassedTests, failed: report.numFailedTests + brokenFiles, skipped: report.numPendingTests + report.numTodoTests };
  } catch {
    return { passed: 0, failed: 1, skipped: 0 };
  }
}

function fromLine(file) {
  const match = LINE.exec(readFileSync(file, 'utf8').trim());
  // A suite that printed no total did not finish: that is a failure, never a silent zero.
  if (!match) return { passed: 0, failed: 1, skipped: 0, missing: true };
  return { passed: Number(match[1]), failed: Number(match[2]), skipped: Number(match[3] ?? 0) };
}

const format = (c) => `${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped` : ''}`;

if (mode === 'vitest') {
  console.log(format(fromVitest(files[0])));
} else if (mode === 'sum') {
  const total = { passed: 0, failed: 0, skipped: 0 };
  for (const file of files) {
    const c = fromLine(file);
    const name = file.replace(/^.*\//, '').replace(/\.count$/, '');
    console.log(`${name.padEnd(10)} ${c.missing ? 'no result line (counted as 1 failure)' : format(c)}`);
    total.passed += c.passed;
    total.failed += c.failed;
    total.skipped += c.skipped;
  }
  console.log(format(total));
  process.exitCode = total.failed > 0 || total.passed === 0 ? 1 : 0;
} else {
  console.error('usage: count-results.mjs vitest FILE | sum FILE...');
  process.exitCode = 2;
}
