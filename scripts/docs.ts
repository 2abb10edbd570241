// `npm run docs`: refreshes the README's generated sections from the code's own tables (config keys, exit codes).
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigKeysMarkdown } from '../src/config/index.ts';
import { EXIT_CODES } from '../src/errors.ts';

export const README_PATH = new URL('../README.md', import.meta.url);

export function renderExitCodesMarkdown(): string {
  const rows = Object.entries(EXIT_CODES)
    .sort(([, a], [, b]) => a.code - b.code)
    .map(([name, row]) => `| ${row.code} | \`${name}\` | ${row.permanent ? 'yes' : 'no'} | ${row.meaning} |`);
  return ['| code | name | permanent | meaning |', '| --- | --- | --- | --- |', ...rows, ''].join('\n');
}

const SECTIONS: Record<string, () => string> = {
  'config-keys': renderConfigKeysMarkdown,
  'exit-codes': renderExitCodesMarkdown,
};

/** The README with every `<!-- BEGIN name … -->` … `<!-- END name -->` block regenerated. */
export function refreshReadme(readme: string): string {
  let out = readme;
  for (const [name, render] of Object.entries(SECTIONS)) {
    const pattern = new RegExp(`(<!-- BEGIN ${name}[^>]*-->\\n)[\\s\\S]*?(<!-- END ${name} -->)`);
    if (!pattern.test(out)) throw new Error(`README.md has no generated section '${name}'`);
    out = out.replace(pattern, (_all, begin: string, end: string) => `${begin}${render().trimEnd()}\n${end}`);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const readme = readFileSync(README_PATH, 'utf8');
  const fresh = refreshReadme(readme);
  if (fresh !== readme) writeFileSync(README_PATH, fresh);
  console.log(fresh === readme ? 'README.md is up to date' : 'README.md refreshed');
}
