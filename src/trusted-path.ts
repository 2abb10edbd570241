// Whether anyone but root (and one expected owner) could change a path: the rule sshd's safe_path and systemd
// apply to what grants power. Root reads config and writes lock files only where this finds no fault; each caller
// turns a fault into its own refusal, since the fix differs (chmod a config, unset LUKS_SSM_RUN_DIR).
import { lstatSync, type Stats } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';

/** The sticky bit (S_ISVTX, inode(7)); node's fs.constants does not export it. */
const STICKY = 0o1000;

export type PathFault =
  | { kind: 'writable'; path: string; stats: Stats }
  | { kind: 'owner'; path: string; stats: Stats }
  | { kind: 'not-directory'; path: string }
  | { kind: 'unreadable'; path: string; error: unknown };

/** Who besides root may own a trusted path. */
export type OwnerRule = (uid: number) => boolean;

/** A fault of one file or directory: writable by group/others, or owned by someone `mayOwn` refuses. */
export function ownershipFault(path: string, stats: Stats, mayOwn: OwnerRule): PathFault | undefined {
  if ((stats.mode & 0o022) !== 0) return { kind: 'writable', path, stats };
  if (stats.uid !== 0 && !mayOwn(stats.uid)) return { kind: 'owner', path, stats };
  return undefined;
}

/**
 * The first fault of `realDir` (a path with no symlinks) or a directory above it. Above `realDir` a root-owned
 * sticky directory (/tmp) passes: others cannot rename what they don't own in it.
 */
export function directoryChainFault(realDir: string, mayOwn: OwnerRule): PathFault | undefined {
  // dirname of a relative path ends at '.', never at '/'.
  if (!isAbsolute(realDir)) throw new Error(`directoryChainFault needs an absolute path, not ${realDir}`);
  for (let current = realDir; ; current = dirname(current)) {
    let stats: Stats;
    try {
      stats = lstatSync(current);
    } catch (error) {
      return { kind: 'unreadable', path: current, error };
    }
    if (!stats.isDirectory()) return { kind: 'not-directory', path: current };
    const stickyRoot = current !== realDir && isSticky(stats) && stats.uid === 0;
    const fault = stickyRoot ? undefined : ownershipFault(current, stats, mayOwn);
    if (fault) return fault;
    if (current === '/') return undefined;
  }
}

export function isSticky(stats: Stats): boolean {
  return (stats.mode & STICKY) !== 0;
}

/** The permission bits as ls and chmod write them (0755, 1777). */
export function modeText(stats: Stats): string {
  return (stats.mode & 0o7777).toString(8).padStart(4, '0');
}
