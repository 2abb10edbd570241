// The bin run by a Node older than 24 (Debian's Node 20 at /usr/bin/node) says which Node it needs, in one line, exit 85.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.ts';

const LOADER = new URL('../../scripts/build/loader.cjs', import.meta.url).pathname;
const OLD_NODE = '/usr/bin/node';

/** The major version of the Node at `node`; NaN when there is none (the test is then skipped). */
function majorOf(node: string): number {
  if (!existsSync(node)) return Number.NaN;
  return Number(/^v(\d+)/.exec(execFileSync(node, ['--version'], { encoding: 'utf8' }))?.[1]);
}

describe('the bin on an old Node', () => {
  it('the loader\'s exit code is UNSUPPORTED from the exit-code table', () => {
    expect(/const EXIT_UNSUPPORTED = (\d+);/.exec(readFileSync(LOADER, 'utf8'))?.[1]).toBe(String(EXIT_CODES.UNSUPPORTED.code));
  });

  it.skipIf(!(majorOf(OLD_NODE) < 24))('Node 20: one line naming Node 24 and the Node that ran it, exit 85, nothing on stdout', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(OLD_NODE, [LOADER, 'check', 'data'], { timeout: 30_000 }, (error, out, err) => resolve({ code: error ? Number(error.code) : 0, stdout: out, stderr: err }));
    });
    expect({ code, stdout }).toEqual({ code: 85, stdout: '' });
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^luks-ssm: Node\.js 24 or newer is needed, this is v\d+\.\d+\.\d+ \(\/usr\/bin\/node\); run \/usr\/sbin\/luks-ssm/);
  });
});
