// Fuzz: the config grammar (parse) and the loader (parse + key table + rules) on generated files.
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadVolumeConfig } from '../../src/config/index.ts';
import { CONFIG_KEYS } from '../../src/config/keys.ts';
import { parseKeyValueText } from '../../src/config/parse.ts';
import { UnlockError } from '../../src/errors.ts';
import { checkProperty, FUZZ_TARGET_TIMEOUT_MS } from './fuzz-settings.ts';

// Characters that sit on the grammar's edges: blanks, quotes, comment, expansion, CR, Unicode spaces, controls.
const TRICKY = [' ', '\t', '\r', '"', "'", '#', '$', '`', '\\', '=', ';', '&', '|', '~', '(', '\u00a0', '\u2028', '\u0000', '\u000b', '\u000c', '\u0085', '\ufeff', 'é', '🔑', 'export ', '[', '/'];
const PLAIN = 'aZ09_-.:/,';
const char = fc.oneof(fc.constantFrom(...TRICKY), fc.constantFrom(...PLAIN.split('')), fc.string({ unit: 'binary', maxLength: 1 }));
const chars = (max: number) => fc.array(char, { maxLength: max }).map((a) => a.join(''));
const keyName = fc.oneof(fc.constantFrom(...CONFIG_KEYS.map((k) => k.name)), fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,6}$/), chars(6));
const line = fc.oneof(
  fc.tuple(fc.constantFrom('', ' ', '\t', 'export ', ' export\t'), keyName, fc.constantFrom('=', ' =', '= '), fc.constantFrom('', '"', "'"), chars(12), fc.constantFrom('', '"', "'"), fc.constantFrom('', ' ', '\t', '\r', ' #x')).map((p) => p.join('')),
  chars(20),
  fc.constantFrom('', '# comment', '[section]', ' '),
);
const fileText = fc.tuple(fc.constantFrom('', '\ufeff'), fc.array(line, { maxLength: 6 }), fc.constantFrom('\n', '\r\n'), fc.boolean())
  .map(([bom, lines, eol, finalEol]) => bom + lines.join(eol) + (finalEol ? eol : ''));

/** The line as sh reads it: split at \n; a \r just before the \n is the tolerated CRLF end, nothing else is. */
function shLine(text: string, line: number): string {
  const segments = text.replace(/^\uFEFF/, '').split('\n');
  const raw = segments[line - 1] ?? '';
  return line < segments.length && raw.endsWith('\r') ? raw.slice(0, -1) : raw;
}

/** What sh would assign for an accepted line: blanks (space, tab) around it only, the value as written. */
function agreesWithSh(lineText: string, key: string, value: string): boolean {
  const match = /^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*?)[ \t]*$/s.exec(lineText);
  if (!match || match[1] !== key) return false;
  return [value, `"${value}"`, `'${value}'`].includes(match[2] as string);
}

describe('fuzz: config grammar', () => {
  it('accepts only lines sh reads the same way; refuses with one line naming file:line', async () => {
    await checkProperty('config parser', fc.property(fileText, (text) => {
      let parsed;
      try {
        parsed = parseKeyValueText(text, 'f.conf');
      } catch (err) {
        expect(err).toBeInstanceOf(UnlockError);
        expect((err as UnlockError).kind).toBe('CONFIG');
        expect((err as UnlockError).message).toMatch(/^f\.conf:\d+: [^\u0000-\u001f\u007f-\u009f\u2028\u2029]+$/);
        return;
      }
      for (const entry of parsed.entries) {
        // A tab is kept inside quotes, as sh keeps it; every other control character is refused.
        expect(entry.value).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f]/);
        expect(agreesWithSh(shLine(text, entry.line), entry.key, entry.value), `line ${entry.line} ${JSON.stringify(shLine(text, entry.line))}`).toBe(true);
      }
    }));
  }, FUZZ_TARGET_TIMEOUT_MS);
});

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const REQUIRED = ['LUKS_DEVICE=/dev/xvdf', 'LUKS_DEVICE_MAP=data', 'LUKS_DEVICE_MOUNT_POINT=/data', 'SSM_PATH=/luks/data'];
const SAMPLES = ['0', '1', '90', '-1', '1e3', '0700', 'yes', 'no', 'kms', 'ssm', 'base64', 'text', 'us-east-1', 'http://127.0.0.1:1', 'alias/x', 'pbkdf2', 'a.service', '/d', ''];
const setting = fc.tuple(fc.constantFrom(...CONFIG_KEYS.map((k) => k.name), 'UNKNOWN_KEY', 'SSM_PATHS'), fc.oneof(fc.constantFrom(...SAMPLES), fc.stringMatching(/^[A-Za-z0-9/:._,=-]{0,16}$/)));

describe('fuzz: config loader', () => {
  it('loads a config or refuses with one CONFIG line naming the file; never throws anything else', async () => {
    // tmpfs when there is one: 10,000 rewrites of a file on a disk-backed /tmp cost ~5 ms each here, on tmpfs 0.06 ms.
    const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'luks-ssm-fuzz-'));
    dirs.push(dir);
    const file = join(dir, 'data.conf');
    let loaded = 0;
    await checkProperty('config loader', fc.asyncProperty(fc.uniqueArray(setting, { selector: (s) => s[0], maxLength: 5 }), fc.subarray(REQUIRED), async (settings, required) => {
      const own = new Set(settings.map(([k]) => k));
      const lines = [...required.filter((l) => !own.has(l.split('=')[0] as string)), ...settings.map(([k, v]) => `${k}="${v}"`)];
      writeFileSync(file, `${lines.join('\n')}\n`);
      chmodSync(file, 0o600);
      try {
        const config = await loadVolumeConfig({ volume: 'data', confDir: dir, defaultsFile: join(dir, 'none'), env: {}, requireRootOwned: false });
        expect(config.volume).toBe('data');
        expect(config.timeoutSec).toBeGreaterThan(0);
        loaded += 1;
      } catch (err) {
        expect(err).toBeInstanceOf(UnlockError);
        expect((err as UnlockError).kind).toBe('CONFIG');
        expect((err as UnlockError).message).toContain(file);
        expect((err as UnlockError).message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      }
    }));
    // Not vacuous: valid files were among the cases and loaded.
    expect(loaded).toBeGreaterThan(0);
  }, FUZZ_TARGET_TIMEOUT_MS);
});
