// Renders the generated package files (man pages, sample config, defaults file) from the code's own tables.
// Usage: node packaging/render-docs.mjs <out-dir> <version> — needs Node 24 (it imports src/*.ts directly).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT_CODES } from '../src/errors.ts';
import { CONFIG_KEYS, renderSampleConfig } from '../src/config/index.ts';

const MAN_DIR = new URL('./man/', import.meta.url);
/** Keys that name one volume: they make no sense as defaults for every volume. */
const PER_VOLUME_KEYS = new Set(['SSM_PARAMETER_VERSION', 'SSM_PARAMETER_LABEL', 'REQUIRED_BY']);

/** roff-escapes text: backslashes, leading dots/quotes, and hyphens meant as minus signs in names. */
function roff(text) {
  return text.replaceAll('\\', '\\e').replaceAll('-', '\\-').replace(/^([.'])/, '\\&$1');
}

function exitCodeRows() {
  return Object.entries(EXIT_CODES)
    .sort(([, a], [, b]) => a.code - b.code)
    .map(([name, row]) => `.TP\n.B ${row.code}\n${roff(name)}${row.permanent ? ' (permanent)' : ''}: ${roff(row.meaning)}`)
    .join('\n');
}

function defaultOf(key) {
  if (key.required) return key.requiredUnless ? `required unless ${key.requiredUnless.key}=${key.requiredUnless.value}` : 'required';
  if (key.default === undefined) return 'unset';
  return key.default === '' ? 'empty' : `default ${key.default}`;
}

function configKeyRows() {
  return CONFIG_KEYS.map((key) => `.TP\n.BR ${key.name} " (${roff(defaultOf(key))})"\n${roff(key.syntax)}.\n${roff(key.description)}`)
    .join('\n');
}

/** The global defaults file: every key that applies to all volumes, commented out (so nothing changes). */
function renderDefaultsFile() {
  const blocks = CONFIG_KEYS.filter((key) => !key.required && !PER_VOLUME_KEYS.has(key.name)).map(
    (key) => `# ${key.name}: ${key.description}\n#   ${key.syntax}\n#${key.name}=${key.default ?? ''}`,
  );
  return [
    '# luks-ssm defaults for every volume; /etc/luks-ssm/<volume>.conf overrides them key by key.',
    '# Everything is commented out: the built-in default applies. See luks-ssm.conf(5).',
    '',
    blocks.join('\n\n'),
    '',
  ].join('\n');
}

/** man(7) wants the date as YYYY-MM-DD; it comes from SOURCE_DATE_EPOCH so builds are reproducible. */
function manDate() {
  const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? Math.floor(Date.now() / 1000));
  return new Date(epoch * 1000).toISOString().slice(0, 10);
}

async function renderManPage(name, version) {
  const template = await readFile(new URL(`${name}.in`, MAN_DIR), 'utf8');
  const values = { VERSION: version, DATE: manDate(), EXIT_CODES: exitCodeRows(), CONFIG_KEYS: configKeyRows() };
  return template.replace(/@([A-Z_]+)@/g, (match, key) => {
    if (!(key in values)) throw new Error(`${name}.in: unknown placeholder ${match}`);
    return values[key];
  });
}

const [outDir, version] = process.argv.slice(2);
if (outDir === undefined || version === undefined) {
  console.error('usage: node packaging/render-docs.mjs <out-dir> <version>');
  process.exit(2);
}
await mkdir(outDir, { recursive: true });
await writeFile(join(outDir, 'luks-ssm.8'), await renderManPage('luks-ssm.8', version));
await writeFile(join(outDir, 'luks-ssm.conf.5'), await renderManPage('luks-ssm.conf.5', version));
await writeFile(join(outDir, 'example.conf.sample'), renderSampleConfig());
await writeFile(join(outDir, 'defaults'), renderDefaultsFile());
