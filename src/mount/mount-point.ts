// The mount point as an open directory: created, checked and later mounted onto through one descriptor.
import { UnlockError } from '../errors.ts';
import type { Logger } from '../types.ts';
import { entriesOf, walkDirectory, WalkError, type DirWalk } from './dir-fd.ts';

export interface MountPoint {
  /** The configured path (absolute, normalized, no symlinks on the way: the walk made sure). */
  path: string;
  /** The directory checked, held open: mount(8) mounts onto this very directory. */
  dir: DirWalk;
  close(): void;
}

/**
 * Opens (creating when missing, with `mode`) the mount point without following any symlink, and refuses a
 * directory with entries unless `allowNonEmpty`. The entries are read through the descriptor that is later
 * mounted onto, so swapping the path afterwards changes nothing we check or mount.
 */
export function openMountPoint(path: string, opts: { mode: number; allowNonEmpty: boolean; log?: Logger }): MountPoint {
  let dir: DirWalk;
  try {
    dir = walkDirectory(path, { mode: opts.mode });
  } catch (error) {
    if (error instanceof WalkError) throw walkRefusal(path, error);
    throw error;
  }
  try {
    if (dir.created) opts.log?.info({ mountPoint: path, mode: opts.mode.toString(8) }, `Created mount point ${path}`);
    const entries = refuseEntries(path, dir, opts.allowNonEmpty);
    if (entries > 0) opts.log?.warn({ mountPoint: path, entries }, `${path} is not empty, mounting over it anyway`);
  } catch (error) {
    dir.close();
    throw error;
  }
  return { path, dir, close: () => dir.close() };
}

/**
 * Refuses what openMountPoint would refuse, but creates nothing: start checks the mount point before it asks for a
 * key, and a start that fails after that must not leave a directory it made behind (review 8). A missing mount
 * point (or parent) passes: openMountPoint makes it when the volume is open.
 */
export function checkMountPoint(path: string, opts: { allowNonEmpty: boolean }): void {
  let dir: DirWalk;
  try {
    dir = walkDirectory(path);
  } catch (error) {
    if (error instanceof WalkError && error.reason === 'missing') return;
    if (error instanceof WalkError) throw walkRefusal(path, error);
    throw error;
  }
  try {
    refuseEntries(path, dir, opts.allowNonEmpty);
  } finally {
    dir.close();
  }
}

/** How many entries the directory has; refuses any unless `allowNonEmpty` (mounting would hide them). */
function refuseEntries(path: string, dir: DirWalk, allowNonEmpty: boolean): number {
  const entries = entriesOf(dir.fd);
  if (entries.length > 0 && !allowNonEmpty) {
    const count = `${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}`;
    throw new UnlockError('MOUNT_REFUSED', `${path} is not empty (${count}): mounting would hide them; empty it or set MOUNT_OVER_NONEMPTY=yes`);
  }
  return entries.length;
}

/** systemd refuses a Where= whose real path differs from the configured one; so do we, saying which part. */
export function walkRefusal(path: string, error: WalkError): UnlockError {
  const at = error.component === path ? path : `${error.component} (in ${path})`;
  switch (error.reason) {
    case 'symlink':
      return new UnlockError('MOUNT_REFUSED', `${at} is a symlink, refusing to follow it`, {
        hint: 'set LUKS_DEVICE_MOUNT_POINT to the real path (no symlinks on the way)',
      });
    case 'not-directory':
      return new UnlockError('MOUNT_REFUSED', `${at} is not a directory, refusing to mount on it.`);
    case 'replaced':
      return new UnlockError('MOUNT_REFUSED', `${at} was replaced while luks-ssm created it, refusing`, {
        hint: `check who can write to the parent of ${error.component}`,
      });
    case 'missing':
      return new UnlockError('MOUNT_REFUSED', `${at} does not exist`);
  }
}
