// `npm run package` builds first (it used to refuse until `npm run build` had been run by hand).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const scripts = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts;

describe('npm run package', () => {
  it('runs npm run build, then packaging/build.sh, stopping if the build fails', () => {
    expect(scripts.package).toBe('npm run build && bash packaging/build.sh');
  });
});
