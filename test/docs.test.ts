// The README's config and exit-code tables are generated from the code: this fails when they drift.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { README_PATH, refreshReadme } from '../scripts/docs.ts';
import { formatUsage } from '../src/cli/usage.ts';
import { EXIT_CODES } from '../src/errors.ts';

describe('documentation', () => {
  const readme = readFileSync(README_PATH, 'utf8');

  it('README tables match src/config/keys.ts and src/errors.ts (run `npm run docs`)', () => {
    expect(refreshReadme(readme)).toBe(readme);
  });

  it('README starts with the two commands: the main job and the whole test suite', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    expect(firstBlock.trim().split('\n').map((l) => l.split('#')[0]?.trim())).toEqual(['bash scripts/demo.sh', 'bash scripts/test-all.sh']);
  });

  it('--help lists every exit code', () => {
    const help = formatUsage('test');
    for (const [name, row] of Object.entries(EXIT_CODES)) expect(help).toMatch(new RegExp(`\\b${row.code}\\s+${name}\\b`));
  });
});
