// Names the processes that keep a mount busy, so a refused stop can say who to stop first (like fuser -m).
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { printable } from '../errors.ts';
import { findMountAt } from './mountinfo.ts';

export interface Holder {
  pid: number;
  /** comm, then the command line when there is one: "postgres (/usr/lib/postgresql/16/bin/postgres -D /data)". */
  command: string;
}

export const COMMAND_LINE_MAX = 120;

/** Links under /proc/<pid> that pin a mount: working dir, root dir, executable, open files. */
const LINKS = ['cwd', 'root', 'exe'];

/**
 * Scans /proc/<pid>/{cwd,root,exe,fd/*,maps} for paths at or under `target`, and maps for files on the
 * mounted device (seen through another path, e.g. a bind mount). Processes that vanish or that we may not
 * inspect are skipped: the answer is a hint for the user, not a guarantee.
 */
export async function findHolders(target: string, opts: { procRoot?: string } = {}): Promise<Holder[]> {
  const procRoot = opts.procRoot ?? '/proc';
  const mount = resolve(target);
  const device = (await findMountAt(mount, join(procRoot, 'self', 'mountinfo')).catch(() => undefined))?.majorMinor;
  const pids = (await readdir(procRoot)).filter((name) => /^\d+$/.test(name)).map(Number);
  const holders: Holder[] = [];
  for (const pid of pids.sort((a, b) => a - b)) {
    const dir = join(procRoot, String(pid));
    if (await holds(dir, mount, device)) holders.push({ pid, command: await describe(dir) });
  }
  return holders;
}

async function holds(dir: string, mount: string, device: string | undefined): Promise<boolean> {
  const fds = await readdir(join(dir, 'fd')).catch(() => []);
  const links = [...LINKS, ...fds.map((fd) => join('fd', fd))];
  for (const link of links) {
    const path = await readlink(join(dir, link)).catch(() => undefined);
    if (path !== undefined && isUnder(stripDeleted(path), mount)) return true;
  }
  const maps = await readFile(join(dir, 'maps'), 'utf8').catch(() => '');
  return maps.split('\n').some((line) => {
    const fields = line.split(/\s+/);
    const path = fields.slice(5).join(' ');
    if (!path.startsWith('/')) return false;
    return isUnder(stripDeleted(path), mount) || (device !== undefined && mapsDevice(fields[3]) === device);
  });
}

/** maps writes the device as hex "fd:01"; mountinfo as decimal "253:1". */
function mapsDevice(field: string | undefined): string | undefined {
  const match = /^([0-9a-f]+):([0-9a-f]+)$/.exec(field ?? '');
  return match === null ? undefined : `${parseInt(match[1]!, 16)}:${parseInt(match[2]!, 16)}`;
}

function isUnder(path: string, mount: string): boolean {
  return mount === '/' ? path.startsWith('/') : path === mount || path.startsWith(`${mount}/`);
}

/** The kernel appends " (deleted)" to links of unlinked files, which still pin the mount. */
function stripDeleted(path: string): string {
  return path.endsWith(' (deleted)') ? path.slice(0, -' (deleted)'.length) : path;
}

async function describe(dir: string): Promise<string> {
  // Both are set by the process's owner, any local user: control characters are shown, never printed.
  const comm = printable((await readFile(join(dir, 'comm'), 'utf8').catch(() => '?')).replace(/\n$/, ''));
  const cmdline = printable((await readFile(join(dir, 'cmdline'), 'utf8').catch(() => ''))
    .split('\0')
    .filter((arg) => arg !== '')
    .join(' '));
  if (cmdline === '') return comm;
  const shown = cmdline.length > COMMAND_LINE_MAX ? `${cmdline.slice(0, COMMAND_LINE_MAX - 1)}…` : cmdline;
  return `${comm} (${shown})`;
}
