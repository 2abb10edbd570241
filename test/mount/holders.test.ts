// Who keeps a mount busy: a fake /proc tree for every kind of reference, and the real /proc with a child we start.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findHolders } from '../../src/mount/holders.ts';
import { hasStuckRead } from '../../src/exec/children.ts';

let procRoot: string;
beforeEach(async () => {
  procRoot = await mkdtemp(join(tmpdir(), 'luks-ssm-proc-'));
});
afterEach(async () => {
  await rm(procRoot, { recursive: true, force: true });
});

interface FakeProcess {
  comm: string;
  cmdline?: string[];
  cwd?: string;
  root?: string;
  exe?: string;
  fds?: string[];
  maps?: string[];
  /** The device maps shows for every mapped file (hex major:minor). */
  mapsDev?: string;
}

async function addProcess(pid: number, p: FakeProcess): Promise<void> {
  const dir = join(procRoot, String(pid));
  await mkdir(join(dir, 'fd'), { recursive: true });
  await writeFile(join(dir, 'comm'), `${p.comm}\n`);
  await writeFile(join(dir, 'cmdline'), p.cmdline === undefined ? '' : `${p.cmdline.join('\0')}\0`);
  await symlink(p.cwd ?? '/', join(dir, 'cwd'));
  await symlink(p.root ?? '/', join(dir, 'root'));
  await symlink(p.exe ?? '/usr/bin/true', join(dir, 'exe'));
  for (const [fd, target] of (p.fds ?? []).entries()) await symlink(target, join(dir, 'fd', String(fd)));
  const dev = p.mapsDev ?? '08:01';
  const maps = (p.maps ?? []).map((m) => `7f0000000000-7f0000001000 r--p 00000000 ${dev} 1234    ${m}\n`);
  await writeFile(join(dir, 'maps'), maps.join(''));
}

describe('findHolders with a fake /proc', () => {
  it('finds cwd, root, exe, open files (even deleted ones) and mapped files under the mount point', async () => {
    await addProcess(10, { comm: 'bash', cmdline: ['-bash'], cwd: '/srv/data/project' });
    await addProcess(11, { comm: 'chrooted', root: '/srv/data' });
    await addProcess(12, { comm: 'tool', exe: '/srv/data/bin/tool' });
    await addProcess(13, { comm: 'postgres', cmdline: ['postgres', '-D', '/srv/data/pg'], fds: ['/dev/null', 'socket:[123]', '/srv/data/pg/wal (deleted)'] });
    await addProcess(14, { comm: 'app', maps: ['/usr/lib/libc.so.6', '/srv/data/lib/libx.so'] });
    await addProcess(20, { comm: 'other', cwd: '/srv/data2', fds: ['/srv/database'], maps: ['[heap]'] });
    await mkdir(join(procRoot, 'self'));
    await writeFile(join(procRoot, 'version'), 'Linux');

    expect((await findHolders('/srv/data/', { procRoot })).holders).toEqual([
      { pid: 10, command: 'bash (-bash)' },
      { pid: 11, command: 'chrooted' },
      { pid: 12, command: 'tool' },
      { pid: 13, command: 'postgres (postgres -D /srv/data/pg)' },
      { pid: 14, command: 'app' },
    ]);
  });

  it('finds files mapped from the mounted device through another path (a bind mount)', async () => {
    await mkdir(join(procRoot, 'self'));
    await writeFile(
      join(procRoot, 'self', 'mountinfo'),
      '22 1 8:1 / / rw - ext4 /dev/sda1 rw\n61 22 253:1 / /srv/data rw - xfs /dev/mapper/data rw\n',
    );
    await addProcess(40, { comm: 'viaBind', maps: ['/mnt/bind/lib.so'], mapsDev: 'fd:01' });
    await addProcess(41, { comm: 'rootfs', maps: ['/mnt/bind/lib.so'], mapsDev: '08:01' });
    expect(await findHolders('/srv/data', { procRoot })).toEqual({ holders: [{ pid: 40, command: 'viaBind' }], complete: true });
  });

  // Any local user names its own process: a newline would forge a journal line, an escape rewrite the terminal.
  it('shows control characters in a command name or line as \\xNN', async () => {
    await addProcess(40, { comm: 'sh\x1b[2J', cmdline: ['sleep', '9\nluks-ssm[1]: Stopped volume data\r'], cwd: '/srv/data' });
    const [holder] = (await findHolders('/srv/data', { procRoot })).holders;
    expect(holder!.command).toBe('sh\\x1b[2J (sleep 9\\x0aluks-ssm[1]: Stopped volume data\\x0d)');
  });

  it('truncates long command lines and survives processes it cannot read', async () => {
    await addProcess(30, { comm: 'java', cmdline: ['java', ...Array(40).fill('-Dx=yyyyyy')], cwd: '/srv/data' });
    await mkdir(join(procRoot, '31'));
    const [holder] = (await findHolders('/srv/data', { procRoot })).holders;
    expect(holder!.pid).toBe(30);
    expect(holder!.command.length).toBeLessThanOrEqual('java ()'.length + 120);
    expect(holder!.command.endsWith('…)')).toBe(true);
  });
});

describe('findHolders within its budget (review 9: any user can make a process unreadable)', () => {
  it('stops at the budget with what it found when reading a process blocks (a FIFO here, a stalled FUSE file there)', async () => {
    await addProcess(10, { comm: 'bash', cwd: '/srv/data' });
    await addProcess(20, { comm: 'staller', cwd: '/srv/data' });
    await addProcess(30, { comm: 'later', cwd: '/srv/data' });
    const fifo = join(procRoot, '20', 'cmdline');
    await rm(fifo);
    execFileSync('mkfifo', [fifo]);
    try {
      expect(await findHolders('/srv/data', { procRoot, budgetMs: 1_000 })).toEqual({ holders: [{ pid: 10, command: 'bash' }], complete: false });
      expect(hasStuckRead()).toBe(true);
    } finally {
      // The blocked open(2) waits for a writer: be one, so the read ends and frees its thread.
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    }
    await expect.poll(() => hasStuckRead(), { timeout: 5_000 }).toBe(false);
  });

  // Review 12: out of time with no read in flight (a slow scan of many processes) is not a stuck read: stop keeps 81.
  it('running out of budget between processes leaves no read given up on', async () => {
    for (let pid = 100; pid < 150; pid++) await addProcess(pid, { comm: 'idle' });
    expect((await findHolders('/srv/data', { procRoot, budgetMs: 0 })).complete).toBe(false);
    expect(hasStuckRead()).toBe(false);
  });

  it('reads at most 4 KiB of a command line', async () => {
    await addProcess(10, { comm: 'big', cmdline: ['x'.repeat(64 * 1024)], cwd: '/srv/data' });
    expect(await findHolders('/srv/data', { procRoot })).toEqual({ holders: [{ pid: 10, command: `big (${'x'.repeat(119)}…)` }], complete: true });
  });
});

describe('findHolders with the real /proc', () => {
  it('names a child process whose working directory is inside the mount point', async () => {
    const mount = await realpath(await mkdtemp(join(tmpdir(), 'luks-ssm-busy-')));
    await mkdir(join(mount, 'sub'));
    const child = spawn('sleep', ['30'], { cwd: join(mount, 'sub'), stdio: 'ignore' });
    try {
      await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
      const { holders } = await findHolders(mount);
      expect(holders).toContainEqual({ pid: child.pid, command: 'sleep (sleep 30)' });
      expect(holders.map((h) => h.pid)).not.toContain(process.pid);
    } finally {
      child.kill('SIGKILL');
      await rm(mount, { recursive: true, force: true });
    }
  });
});
