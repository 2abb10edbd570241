// #10 item 10: the directory chain is judged before the file is opened, and the file is opened without
// following a symlink: a symlink planted in an unsafe directory (to a device node, a FIFO) is never opened by root.
import { chmodSync, chownSync, mkdirSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { loadVolumeConfig } from '../../src/config/index.ts';
import { failureOf, makeDir, optionsFor, REQUIRED_LINES, writeConf } from './temp-config.ts';

/** Every path the product opens through node:fs's openSync, in order. */
const opened: string[] = [];
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const openSync = ((...args: Parameters<typeof real.openSync>) => {
    opened.push(String(args[0]));
    return real.openSync(...args);
  }) as typeof real.openSync;
  return { ...real, openSync, default: { ...real, openSync } };
});

const isRoot = process.getuid?.() === 0;
beforeEach(() => void opened.splice(0));

describe('the config file path', () => {
  it('refuses a config file that is a symlink, in one line (exit 78), without reading what it points to', async () => {
    const dir = makeDir();
    const real = writeConf(dir, 'real.conf', REQUIRED_LINES);
    const link = join(dir, 'data.conf');
    symlinkSync(real, link);
    const error = await failureOf(() => loadVolumeConfig(optionsFor(dir)));
    expect([error.kind, error.exitCode, error.message]).toEqual(['CONFIG', 78, `${link}: a symlink, refusing; put the config file itself there`]);
  });

  it('judges the directory before opening anything in it: a symlink to a FIFO in a writable directory is never opened', async () => {
    const dir = makeDir();
    const unsafe = join(dir, 'etc-luks-ssm');
    mkdirSync(unsafe);
    chmodSync(unsafe, 0o777);
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', ['-m', '0600', fifo]).status).toBe(0);
    symlinkSync(fifo, join(unsafe, 'data.conf'));
    const error = await failureOf(() => loadVolumeConfig(optionsFor(unsafe)));
    expect(error.message).toBe(`${unsafe}: writable by group/others (mode 0777), refusing; run: chmod go-w ${unsafe}`);
    expect(opened.filter((path) => path.startsWith(dir))).toEqual([]);
  });

  it('judges every directory up to /, as sshd does: a writable grandparent can swap the whole directory', async () => {
    const dir = makeDir();
    const parent = join(dir, 'etc');
    const confDir = join(parent, 'luks-ssm');
    mkdirSync(confDir, { recursive: true });
    writeConf(confDir, 'data.conf', REQUIRED_LINES);
    chmodSync(parent, 0o757);
    const error = await failureOf(() => loadVolumeConfig(optionsFor(confDir)));
    expect([error.kind, error.message]).toEqual(['CONFIG', `${parent}: writable by group/others (mode 0757), refusing; run: chmod go-w ${parent}`]);
    // A root-owned sticky directory (like /tmp, above every test dir here) keeps others from renaming what they don't own.
    chmodSync(parent, 0o1777);
    expect((await loadVolumeConfig(optionsFor(confDir))).mapName).toBe('data');
  });

  it.skipIf(!isRoot)('requires every directory up to / to be root-owned, by default', async () => {
    const dir = makeDir();
    const parent = join(dir, 'etc');
    const confDir = join(parent, 'luks-ssm');
    mkdirSync(confDir, { recursive: true });
    writeConf(confDir, 'data.conf', REQUIRED_LINES);
    chownSync(parent, 1000, 1000);
    const error = await failureOf(() => loadVolumeConfig(optionsFor(confDir, { requireRootOwned: undefined })));
    // A directory someone else owns is not chowned for a config's sake (review 8: a home directory): the config moves.
    expect(error.message).toBe(`${parent}: owned by uid 1000, not root, refusing; move the config into a directory only root can write (as /etc/luks-ssm), not ${parent}'s owner or mode`);
  });
});
