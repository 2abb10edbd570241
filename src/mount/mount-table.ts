// What is mounted at a path, judged by the mount the path really reaches (its mount id), not by a mountinfo string.
import { mountIdOf, walkDirectory, WalkError } from './dir-fd.ts';
import { MOUNTINFO_PATH, readMounts, type MountEntry } from './mountinfo.ts';

/**
 * The mount whose root is at `path`, reached without following symlinks; undefined when the path does not
 * lead to a mount root (missing, a symlink on the way, or a plain directory). Any mount listed at that path
 * but hidden (a later mount over a parent) does not count: the mount the walk lands on must be the one.
 * A mountinfo file other than the kernel's (tests) has its own ids, so there the listed path decides.
 */
export async function mountAt(path: string, mountinfoPath: string = MOUNTINFO_PATH): Promise<MountEntry | undefined> {
  const mounts = await readMounts(mountinfoPath);
  let walk;
  try {
    walk = walkDirectory(path, undefined, mountinfoPath);
  } catch (error) {
    if (error instanceof WalkError) return undefined;
    throw error;
  }
  try {
    if (mountinfoPath !== MOUNTINFO_PATH) return mounts.findLast((entry) => entry.target === path);
    const id = mountIdOf(walk.fd);
    const entry = mounts.find((candidate) => candidate.mountId === id);
    return entry?.target === path ? entry : undefined;
  } finally {
    walk.close();
  }
}
