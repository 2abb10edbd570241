// Mounts of a device in other mount namespaces: a user's private namespace (unshare -Urm, review 15) keeps its copy
// of the volume's mount when stop unmounts ours, and the close then fails with the filesystem still in use there.
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describeProcess, readHead, scanProcesses, type Holder } from './holders.ts';
import { parseMountinfo, type MountEntry } from './mountinfo.ts';

/** A namespace's table is the kernel's own text, but as long as the mounts in it: enough for any real one. */
const MOUNTINFO_READ_MAX = 4 * 1024 * 1024;

/** The peer groups (shared:N) of `mounts`: what propagates an unmount of them to other namespaces. */
export function peerGroupsOf(mounts: MountEntry[]): string[] {
  return mounts.flatMap((mount) => mount.propagation.filter((tag) => tag.startsWith('shared:')).map((tag) => tag.slice('shared:'.length)));
}

export interface NamespaceHolder extends Holder {
  /** Where that namespace has the device mounted. */
  target: string;
}

/**
 * One process per mount namespace other than ours in which `majorMinor` is mounted where our unmount does not reach,
 * read from /proc/<pid>/mountinfo (which the kernel writes from its own table: no filesystem is asked). A copy that is
 * a slave or a peer of one of `ourGroups` (the peer groups of our mounts of it: a service's ProtectSystem= or
 * PrivateTmp= namespace has such slaves) is unmounted with ours; a private copy (unshare -Urm) is not. Bounded like
 * the holder scan: stops at `budgetMs` with what it found, `complete: false`.
 */
export async function mountsInOtherNamespaces(majorMinor: string, opts: { procRoot?: string; budgetMs: number; ourGroups: string[] }): Promise<{ holders: NamespaceHolder[]; complete: boolean }> {
  const procRoot = opts.procRoot ?? '/proc';
  const deadline = Date.now() + opts.budgetMs;
  const own = await readlink(join(procRoot, 'self', 'ns', 'mnt')).catch(() => undefined);
  if (own === undefined) return { holders: [], complete: false };
  const seen = new Set([own]);
  const { found, complete } = await scanProcesses(procRoot, deadline, (pid, dir) => examine(dir, pid, majorMinor, seen, opts.ourGroups));
  return { holders: found, complete };
}

async function examine(dir: string, pid: number, majorMinor: string, seen: Set<string>, ourGroups: string[]): Promise<NamespaceHolder | undefined> {
  const namespace = await readlink(join(dir, 'ns', 'mnt')).catch(() => undefined);
  if (namespace === undefined || seen.has(namespace)) return undefined;
  seen.add(namespace);
  const table = parseMountinfo(await readHead(join(dir, 'mountinfo'), MOUNTINFO_READ_MAX).catch(() => ''));
  const reached = (tag: string): boolean => /^(shared|master):\d+$/.test(tag) && ourGroups.includes(tag.slice(tag.indexOf(':') + 1));
  const mount = table.find((entry) => entry.majorMinor === majorMinor && !entry.propagation.some(reached));
  return mount === undefined ? undefined : { pid, command: await describeProcess(dir), target: mount.target };
}
