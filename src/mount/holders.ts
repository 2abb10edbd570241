// Names the processes that keep a mount busy, so a refused stop can say who to stop first (like fuser -m).
import { open, readdir, readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { printable } from '../errors.ts';
import { giveUpOnRead } from '../exec/children.ts';
import { TIMED_OUT, within } from '../time-bound.ts';
import { findMountAt } from './mountinfo.ts';

export interface Holder {
  pid: number;
  /** comm, then the command line when there is one: "postgres (/usr/lib/postgresql/16/bin/postgres -D /data)". */
  command: string;
}

export interface HolderScan {
  holders: Holder[];
  /** False when the budget ran out first: a process could not be read in time (a stalled FUSE file, review 9). */
  complete: boolean;
}

export const COMMAND_LINE_MAX = 120;
/** stop runs under TimeoutStopSec: the list of holders is a hint, never worth a stop that hangs. */
export const HOLDER_SCAN_BUDGET_MS = 5_000;
/** Enough of a command line to show; maps of a process with very many mappings are cut (the answer is a hint). */
const CMDLINE_READ_MAX = 4 * 1024;
const MAPS_READ_MAX = 8 * 1024 * 1024;
const READ_CHUNK = 64 * 1024;

/** Links under /proc/<pid> that pin a mount: working dir, root dir, executable, open files. */
const LINKS = ['cwd', 'root', 'exe'];

/**
 * Scans /proc/<pid>/{cwd,root,exe,fd/*,maps} for paths at or under `target`, and maps for files on the
 * mounted device (seen through another path, e.g. a bind mount). Processes that vanish or that we may not
 * inspect are skipped: the answer is a hint for the user, not a guarantee. Any local user can make a process
 * slow or impossible to read (argv or maps on a FUSE file that never answers), so the scan stops at `budgetMs`
 * with what it found; a read still blocked then is given up on (while it is pending the process cannot exit: main.ts
 * ends it by SIGKILL).
 */
export async function findHolders(target: string, opts: { procRoot?: string; budgetMs?: number } = {}): Promise<HolderScan> {
  const procRoot = opts.procRoot ?? '/proc';
  const deadline = Date.now() + (opts.budgetMs ?? HOLDER_SCAN_BUDGET_MS);
  const mount = resolve(target);
  const device = (await findMountAt(mount, join(procRoot, 'self', 'mountinfo')).catch(() => undefined))?.majorMinor;
  const { found, complete } = await scanProcesses(procRoot, deadline, (pid, dir) => examine(pid, dir, mount, device));
  return { holders: found, complete };
}

/**
 * `examine` for each /proc/<pid>, lowest pid first, until `deadline` (epoch ms): what it found, and whether every
 * process was examined. A read still blocked at the deadline is given up on (see findHolders).
 */
export async function scanProcesses<T>(procRoot: string, deadline: number, examine: (pid: number, dir: string) => Promise<T | undefined>): Promise<{ found: T[]; complete: boolean }> {
  const pids = (await readdir(procRoot)).filter((name) => /^\d+$/.test(name)).map(Number).sort((a, b) => a - b);
  const found: T[] = [];
  for (const pid of pids) {
    const left = deadline - Date.now();
    if (left <= 0) return { found, complete: false };
    const work = examine(pid, join(procRoot, String(pid)));
    const result = await within(left, work);
    if (result === TIMED_OUT) {
      giveUpOnRead(work);
      return { found, complete: false };
    }
    if (result !== undefined) found.push(result);
  }
  return { found, complete: true };
}

async function examine(pid: number, dir: string, mount: string, device: string | undefined): Promise<Holder | undefined> {
  return (await holds(dir, mount, device)) ? { pid, command: await describeProcess(dir) } : undefined;
}

async function holds(dir: string, mount: string, device: string | undefined): Promise<boolean> {
  const fds = await readdir(join(dir, 'fd')).catch(() => []);
  const links = [...LINKS, ...fds.map((fd) => join('fd', fd))];
  for (const link of links) {
    const path = await readlink(join(dir, link)).catch(() => undefined);
    if (path !== undefined && isUnder(stripDeleted(path), mount)) return true;
  }
  const maps = await readHead(join(dir, 'maps'), MAPS_READ_MAX).catch(() => '');
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

/** comm and the command line of the process whose /proc directory is `dir`, shown safely. */
export async function describeProcess(dir: string): Promise<string> {
  // Both are set by the process's owner, any local user: control characters are shown, never printed.
  const comm = printable((await readHead(join(dir, 'comm'), 64).catch(() => '?')).replace(/\n$/, ''));
  const cmdline = printable((await readHead(join(dir, 'cmdline'), CMDLINE_READ_MAX).catch(() => ''))
    .split('\0')
    .filter((arg) => arg !== '')
    .join(' '));
  if (cmdline === '') return comm;
  const shown = cmdline.length > COMMAND_LINE_MAX ? `${cmdline.slice(0, COMMAND_LINE_MAX - 1)}…` : cmdline;
  return `${comm} (${shown})`;
}

/** At most `max` bytes of a file, as text (a process's cmdline and maps are as long as its owner makes them). */
export async function readHead(path: string, max: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const chunks: Buffer[] = [];
    for (let total = 0; total < max; ) {
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, max - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await handle.close();
  }
}
