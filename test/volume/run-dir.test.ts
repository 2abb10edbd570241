// LUKS_SSM_RUN_DIR's trust check (review 9): root writes lock files there, so only root may be able to write it.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkRunDir } from '../../src/volume/run-dir.ts';
import { UnlockError } from '../../src/errors.ts';

const uid = process.getuid?.() ?? 0;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function makeDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'luks-ssm-run-dir-'));
  dirs.push(dir);
  return dir;
}

function refusal(dir: string): string {
  try {
    checkRunDir(dir, uid);
  } catch (error) {
    expect(error).toBeInstanceOf(UnlockError);
    expect((error as UnlockError).exitCode).toBe(78);
    return (error as UnlockError).message;
  }
  throw new Error(`${dir} was accepted`);
}

describe('checkRunDir', () => {
  it('accepts a directory only its owner can write, and one still to be made in such a directory or in sticky /tmp', () => {
    const dir = makeDir();
    expect(() => checkRunDir(dir, uid)).not.toThrow();
    expect(() => checkRunDir(join(dir, 'run'), uid)).not.toThrow();
    expect(() => checkRunDir(join(tmpdir(), 'luks-ssm-run-dir-not-made'), uid)).not.toThrow();
  });

  it('refuses a directory others can write, or its parent when it is still to be made', () => {
    const dir = makeDir();
    chmodSync(dir, 0o777);
    expect(refusal(dir)).toBe(`LUKS_SSM_RUN_DIR: ${dir} is writable by group/others (mode 0777), refusing: root writes lock files there`);
    expect(refusal(join(dir, 'run'))).toBe(`LUKS_SSM_RUN_DIR: ${dir} is writable by group/others (mode 0777), refusing: root writes lock files there`);
  });

  it('refuses a symlink or a file in its place', () => {
    const dir = makeDir();
    mkdirSync(join(dir, 'real'));
    symlinkSync(join(dir, 'real'), join(dir, 'link'));
    writeFileSync(join(dir, 'file'), '');
    expect(refusal(join(dir, 'link'))).toMatch(/link is not a directory \(a symlink or a file\), refusing/);
    expect(refusal(join(dir, 'file'))).toMatch(/file is not a directory \(a symlink or a file\), refusing/);
  });

  it.skipIf(uid !== 0)('refuses a directory another user owns (the planted-symlink case: uid 65534 owns it)', () => {
    const dir = makeDir();
    chownSync(dir, 65534, 65534);
    expect(refusal(dir)).toBe(`LUKS_SSM_RUN_DIR: ${dir} is owned by uid 65534, not 0, refusing: root writes lock files there`);
  });
});
