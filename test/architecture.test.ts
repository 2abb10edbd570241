// The import rules from STYLE.md, checked: one file per third-party library, imports flow one way.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const SRC = new URL('../src/', import.meta.url).pathname;

function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [relative(SRC, path)] : [];
  });
}

/** Every module specifier a file imports or re-exports, static or dynamic. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1] as string);
  return specifiers.map((s) => (s.startsWith('.') ? normalize(join(dirname(file), s)) : s));
}

/** The only file allowed to import each third-party library. */
const OWNERS: Record<string, string> = {
  execa: 'exec/run.ts',
  '@particle/dbus-next': 'systemd/bus.ts',
  ini: 'config/parse.ts',
  pino: 'log.ts',
  '@aws-sdk/client-ssm': 'aws/clients.ts',
  '@aws-sdk/client-kms': 'aws/kms-client.ts',
};

/** Layers, lowest first: a file may import its own layer's modules only through the rules below. */
const LAYERS: Array<{ name: string; match: (f: string) => boolean }> = [
  { name: 'base', match: (f) => /^(errors|types|log|trusted-path|time-bound)\.ts$/.test(f) || /^(exec|aws)\//.test(f) },
  { name: 'adapter', match: (f) => /^(config|secret|luks|mount|device|systemd)\//.test(f) },
  { name: 'orchestration', match: (f) => /^(volume|lifecycle)\//.test(f) },
  { name: 'cli', match: (f) => f.startsWith('cli/') },
  { name: 'main', match: (f) => f === 'main.ts' },
];

function layerOf(file: string): number {
  const index = LAYERS.findIndex((layer) => layer.match(file));
  if (index < 0) throw new Error(`src/${file} belongs to no layer: add it to test/architecture.test.ts`);
  return index;
}

/** Adapter-to-adapter imports that are part of the design, with the reason. */
const ALLOWED_ADAPTER_EDGES: Array<[RegExp, RegExp, string]> = [
  [/^secret\//, /^secret\//, 'a source uses the Secret type'],
  [/^systemd\/(generator|enable|unit-text)\.ts$/, /^config\//, 'the generator reads the same config as start'],
  [/^luks\//, /^secret\/secret\.ts$/, 'cryptsetup takes the key as a Secret'],
  [/^systemd\/ask-password\.ts$/, /^secret\/secret\.ts$/, 'a typed key is a Secret from the start'],
  [/^lifecycle\//, /./, 'lifecycle verbs orchestrate'],
  [/^(luks|mount)\//, /^device\/read-bytes\.ts$/, 'the LUKS magic and the ext superblock are read with one bounded device read'],
];

describe('architecture', () => {
  const files = sourceFiles();

  it('imports each third-party library from exactly one file', () => {
    for (const [library, owner] of Object.entries(OWNERS)) {
      const importers = files.filter((f) => importsOf(f).some((s) => s === library || s.startsWith(`${library}/`)));
      expect(importers, library).toEqual([owner]);
    }
  });

  it('imports flow downwards: main → cli → orchestration → adapters → base', () => {
    const upward: string[] = [];
    for (const file of files) {
      for (const target of importsOf(file).filter((s) => s.endsWith('.ts'))) {
        if (layerOf(target) > layerOf(file)) upward.push(`${file} → ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('adapters do not import each other except where the design says so', () => {
    const adapter = 1;
    const crossings: string[] = [];
    for (const file of files.filter((f) => layerOf(f) === adapter)) {
      for (const target of importsOf(file).filter((s) => s.endsWith('.ts') && layerOf(s) === adapter)) {
        const sameModule = target.split('/')[0] === file.split('/')[0];
        if (sameModule || ALLOWED_ADAPTER_EDGES.some(([from, to]) => from.test(file) && to.test(target))) continue;
        crossings.push(`${file} → ${target}`);
      }
    }
    expect(crossings).toEqual([]);
  });

  it('only main.ts reads process.argv or calls process.exit', () => {
    const offenders = files.filter((f) => f !== 'main.ts' && /process\.(argv|exit\()/.test(readFileSync(join(SRC, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
