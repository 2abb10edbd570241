// Temp directories with config files for the config tests, removed after each test.
import { afterEach, expect } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadVolumeConfig, type LoadConfigOptions } from '../../src/config/index.ts';
import type { UnlockError } from '../../src/errors.ts';

const made: string[] = [];

afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh 0700 directory (mkdtemp's mode), removed after the test. */
export function makeDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'luks-ssm-config-'));
  made.push(dir);
  return dir;
}

/** Writes `lines` (joined with \n, final newline) with mode 0600 and returns the path. */
export function writeConf(dir: string, name: string, lines: string[], mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  chmodSync(path, mode);
  return path;
}

/** The four required keys, lines 1-4 of every test volume file (so extra lines start at line 5). */
export const REQUIRED_LINES = [
  'LUKS_DEVICE=/dev/xvdf',
  'LUKS_DEVICE_MAP=data',
  'LUKS_DEVICE_MOUNT_POINT=/data',
  'SSM_PATH=/luks/data/passphrase',
];

/** Options for volume `data` in `dir` with no defaults file. */
export function optionsFor(dir: string, extra: Partial<LoadConfigOptions> = {}): LoadConfigOptions {
  return { volume: 'data', confDir: dir, defaultsFile: join(dir, 'no-defaults'), env: {}, requireRootOwned: false, ...extra };
}

/** Loads `data.conf` = REQUIRED_LINES + extra lines. */
export async function loadWith(extra: string[], options: Partial<LoadConfigOptions> = {}) {
  const dir = makeDir();
  const file = writeConf(dir, 'data.conf', [...REQUIRED_LINES, ...extra]);
  return { file, config: await loadVolumeConfig(optionsFor(dir, options)) };
}

/** Runs `load` expecting an UnlockError; returns it for assertions on kind and message. */
export async function failureOf(load: () => Promise<unknown>): Promise<UnlockError> {
  try {
    await load();
  } catch (error) {
    return error as UnlockError;
  }
  throw new Error('expected the config to be refused, but it loaded');
}

/** Loads REQUIRED_LINES + extra, expects a one-line CONFIG error, returns its message with the path as FILE. */
export async function messageFor(extra: string[], options: Partial<LoadConfigOptions> = {}): Promise<string> {
  const dir = makeDir();
  const file = writeConf(dir, 'data.conf', [...REQUIRED_LINES, ...extra]);
  const error = await failureOf(() => loadVolumeConfig(optionsFor(dir, options)));
  expect(error.kind).toBe('CONFIG');
  expect(error.message).not.toContain('\n');
  return error.message.replaceAll(file, 'FILE');
}
