// test-all's summary: counts per suite, the total last, and the failing tests by name so a red run says what failed.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../scripts/count-results.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'luks-ssm-count-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const count = (...args: string[]): string => execFileSync(process.execPath, [SCRIPT, ...args], { cwd: dir, encoding: 'utf8' });
function write(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

describe('count-results.mjs', () => {
  it('sum lists each failing test by name under its suite and ends with the total', () => {
    const report = write('vitest.json', JSON.stringify({
      numPassedTests: 5, numFailedTests: 1, numPendingTests: 2, numTodoTests: 0,
      testResults: [
        { name: join(dir, 'test/a.test.ts'), status: 'failed', assertionResults: [{ status: 'passed', fullName: 'a works' }, { status: 'failed', fullName: 'group > a breaks' }] },
        { name: join(dir, 'test/b.test.ts'), status: 'failed', assertionResults: [] },
      ],
    }));
    const vitest = write('vitest.count', count('vitest', report));
    const packaging = write('packaging.count', count('log', write('packaging.log', 'ok      deb installs\nnot ok  rpm has a Packager tag\n        detail line\n1 passed, 1 failed\n')));
    const vm = write('vm.count', count('log', write('vm.log', '[ 1.0 s] booting\nPASS 01-boot (3.0 s)\nFAIL 02-rotate: exit 83 | more (4.0 s)\n1 passed, 1 failed\n')));
    const sum = spawnSync(process.execPath, [SCRIPT, 'sum', packaging, vitest, vm], { cwd: dir, encoding: 'utf8' });
    expect(sum.status).toBe(1);
    expect(sum.stdout.trimEnd().split('\n')).toEqual([
      'packaging  1 passed, 1 failed',
      '  failed: rpm has a Packager tag',
      'vitest     5 passed, 2 failed, 2 skipped',
      '  failed: test/a.test.ts › group > a breaks',
      '  failed: test/b.test.ts (did not load)',
      'vm         1 passed, 1 failed',
      '  failed: 02-rotate',
      '7 passed, 4 failed, 2 skipped',
    ]);
  });

  it('a suite without a count line is one failure, and a green run exits 0 with no names', () => {
    const green = write('green.count', count('log', write('green.log', 'ok      one\n1 passed, 0 failed\n')));
    expect(spawnSync(process.execPath, [SCRIPT, 'sum', green], { encoding: 'utf8' })).toMatchObject({ status: 0, stdout: 'green      1 passed, 0 failed\n1 passed, 0 failed\n' });
    const cut = write('cut.count', count('log', write('cut.log', 'PASS 01-boot (3.0 s)\n[ 9.0 s] killed\n')));
    const sum = spawnSync(process.execPath, [SCRIPT, 'sum', green, cut], { encoding: 'utf8' });
    expect(sum.status).toBe(1);
    expect(sum.stdout).toContain('cut        no result line (counted as 1 failure)');
    expect(sum.stdout.trimEnd().split('\n').at(-1)).toBe('1 passed, 1 failed');
  });
});
