// LUKS_SSM_RUN_DIR's trust check (review 9): root writes lock files there, so only root may be able to write it.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkRunDir } from '../../src/volume/run-dir.ts';
import { openLockFile } from '../../src/volume/run-lock.ts';
import { writeUnlockRecord } from '../../src/volume/unlock-record.ts';
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
  it('accepts a directory only its owner can write (under sticky /tmp), and one still to be made in such a directory', () => {
    const dir = makeDir();
    expect(() => checkRunDir(dir, uid)).not.toThrow();
    expect(() => checkRunDir(join(dir, 'run'), uid)).not.toThrow();
  });

  it('refuses one still to be made right in sticky /tmp: anyone could make it first', () => {
    expect(refusal(join(tmpdir(), 'luks-ssm-run-dir-not-made'))).toMatch(/ is writable by group\/others \(mode 1777\), refusing/);
  });

  it('refuses a symlink anywhere on the path (review 10: a user\'s symlink to a root-owned directory)', () => {
    const dir = makeDir();
    mkdirSync(join(dir, 'real', 'run'), { recursive: true });
    symlinkSync(join(dir, 'real'), join(dir, 'link'));
    expect(refusal(join(dir, 'link', 'run'))).toBe(`LUKS_SSM_RUN_DIR: ${join(dir, 'link', 'run')} has a symlink on its path (${join(dir, 'link', 'run')} is ${join(dir, 'real', 'run')}), refusing: root writes lock files there`);
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

  it.skipIf(uid !== 0)('refuses a directory another user owns, or one above it (review 10: they could rename it away)', () => {
    const dir = makeDir();
    chownSync(dir, 65534, 65534);
    expect(refusal(dir)).toBe(`LUKS_SSM_RUN_DIR: ${dir} is owned by uid 65534, not 0, refusing: root writes lock files there`);
    mkdirSync(join(dir, 'run'), { mode: 0o700 });
    expect(refusal(join(dir, 'run'))).toBe(`LUKS_SSM_RUN_DIR: ${dir} is owned by uid 65534, not 0, refusing: root writes lock files there`);
  });

  it('lock and record files are never opened through a symlink planted in the run directory (review 9)', async () => {
    const dir = makeDir();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, join(dir, 'lock.volume.x'));
    await expect(openLockFile(dir, 'lock.volume.x')).rejects.toMatchObject({ code: 'ELOOP' });
    symlinkSync(victim, join(dir, 'data.json.tmp'));
    const record = { volume: 'data', device: '/dev/x', mapName: 'data', mountPoint: '/srv/data', source: 'ssm:/x', version: 1, region: 'us-east-1', unlockedAt: new Date(0).toISOString() };
    await expect(writeUnlockRecord(dir, record)).rejects.toMatchObject({ code: 'ELOOP' });
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });
});
