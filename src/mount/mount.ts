// Mounting and unmounting the opened volume with mount(8)/umount(8); never a lazy or forced unmount.
import { closeSync, constants, lstatSync, openSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { UnlockError } from '../errors.ts';
import type { Runner } from '../types.ts';
import { currentPathOf, fdPath, mountIdOf, O_PATH, openDirectory, WalkError } from './dir-fd.ts';
import { walkRefusal, type MountPoint } from './mount-point.ts';
import { mountAt } from './mount-table.ts';
import { MOUNTINFO_PATH, readMounts, type MountEntry } from './mountinfo.ts';

export const DEFAULT_MOUNT_TIMEOUT_MS = 60_000;

/**
 * The child's fd 3 is the directory we checked; the kernel resolves this to it, whatever its path now holds.
 * The trailing "/." makes util-linux's move_mount(2) path (Debian 13) take the magic link as a directory.
 */
const ONTO_FD3 = '/proc/self/fd/3/.';

/**
 * What mount(8) says when the kernel refuses a filesystem as damaged: EUCLEAN ("Structure needs cleaning", the
 * kernel's EFSCORRUPTED) and EBADMSG (a bad metadata checksum; util-linux words it "probably corrupted
 * filesystem"). A bare "bad superblock" is left out: mount says that for a wrong LUKS_DEVICE_FS too.
 */
const DAMAGED = /Structure needs cleaning|probably corrupted filesystem|Bad message/i;

/**
 * Mounts `source` onto the mount point's open directory (never onto a path a writer of the parent could
 * swap), then checks that the configured path, walked without symlinks, reaches this new mount. If it does
 * not (the directory was moved away meanwhile), the mount is undone and the start refused.
 */
export async function mountFilesystem(
  run: Runner,
  opts: { source: string; point: MountPoint; fsType: string; options: string; timeoutMs?: number; mountinfoPath?: string },
): Promise<void> {
  const { point } = opts;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_MOUNT_TIMEOUT_MS;
  const options = opts.options === '' ? 'defaults' : opts.options;
  const before = new Set((await readMounts(opts.mountinfoPath ?? MOUNTINFO_PATH)).map((entry) => entry.mountId));
  const result = await run('mount', ['--no-canonicalize', '-t', opts.fsType, '-o', options, '--', opts.source, ONTO_FD3], {
    timeoutMs,
    fd3: point.dir.fd,
  });
  const what = `Failed to mount ${opts.source} on ${point.path}`;
  if (result.timedOut) throw new UnlockError('TIMEOUT', `${what}: mount did not finish in time`, { retryable: true });
  if (result.exitCode !== 0) {
    const detail = firstLine(result.stderr, ONTO_FD3, point.path) ?? `mount exited with status ${result.exitCode}`;
    if (DAMAGED.test(result.stderr)) {
      throw new UnlockError('NEEDS_FSCK', `${what}: the kernel found the filesystem damaged (${detail}), refusing to repair it`, {
        hint: `${opts.source} is left open: run fsck -f ${opts.source}, then start again`,
      });
    }
    throw new UnlockError('SYSTEM', `${what}: ${detail}`, { hint: `check LUKS_DEVICE_FS=${opts.fsType} and the kernel log (journalctl -k)` });
  }
  const now = currentPathOf(point.dir.fd);
  // The walk to the path can itself refuse (a user's FUSE mounted on the way meanwhile, review 13): that too undoes
  // the mount, which would otherwise stay mounted out of sight, and every later start, stop and status refuse.
  const top = await mountAt(point.path, opts.mountinfoPath ?? MOUNTINFO_PATH).catch((error: unknown) => ({ refused: error }));
  // The new mount must sit on the directory checked, not on something stacked there since (a user's FUSE mounted on the
  // point while mount(8) ran, which a fusermount -u -z of its owner would then swap back in, review 14). The kernel's
  // own ids only: another mountinfo (tests) has ids of its own.
  const onChecked = (entry: MountEntry) => (opts.mountinfoPath ?? MOUNTINFO_PATH) !== MOUNTINFO_PATH || entry.parentId === mountIdOf(point.dir.fd);
  if (now === point.path && top !== undefined && !('refused' in top) && !before.has(top.mountId) && onChecked(top)) return;
  const undo = await run('umount', ['--no-canonicalize', '--', ONTO_FD3], { timeoutMs, fd3: point.dir.fd });
  const undone = undo.exitCode === 0 && !undo.timedOut
    ? 'unmounted it again'
    : `and unmounting it again failed (${firstLine(undo.stderr, ONTO_FD3, now ?? point.path) ?? `status ${undo.exitCode}`})`;
  const change = top !== undefined && 'refused' in top
    ? `the path to ${point.path} changed while mounting (${reasonOf(top.refused)})`
    : top !== undefined && now === point.path && !before.has(top.mountId)
      ? `something was mounted on ${point.path} while mounting, under the new mount`
      : `${point.path} was moved or replaced while mounting (the directory checked is now ${now ?? 'deleted'})`;
  throw new UnlockError('MOUNT_REFUSED', `${change}; ${undone}, refusing`, {
    hint: `check who can write to ${dirname(point.path)}`,
  });
}

/** A refusal's own words, without its closing ", refusing" (the caller's sentence ends with that). */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/[,.]?\s*refusing\.?$/, '');
}

/**
 * A plain umount of `target`, looked up in its parent's descriptor (opened without following symlinks): a
 * busy mount stays mounted and is reported, never detached lazily (-l) or forced (-f), so no process loses
 * its files underneath it. Not mounted counts as unmounted. With `mountId`, only that mount is unmounted:
 * whatever else a writer of a directory above put at `target` since it was inspected is left alone.
 */
export async function unmountFilesystem(
  run: Runner,
  target: string,
  opts: { timeoutMs?: number; mountId?: number } = {},
): Promise<'unmounted' | 'busy'> {
  let parent: number;
  try {
    parent = openDirectory(dirname(target));
  } catch (error) {
    if (error instanceof WalkError && error.reason === 'missing') return 'unmounted';
    if (error instanceof WalkError) throw new UnlockError('SYSTEM', `Failed to unmount ${target}: ${walkRefusal(dirname(target), error).message}`);
    throw error;
  }
  const via = `/proc/self/fd/3/${basename(target)}`;
  let result;
  try {
    // umount(2) follows a final symlink: a writer of a directory above could have put one where the mount was
    // (in the parent held open, a mount point itself can't be renamed or replaced, so this check holds).
    if (lstatSync(fdPath(parent, basename(target)), { throwIfNoEntry: false })?.isSymbolicLink()) {
      throw new UnlockError('SYSTEM', `Failed to unmount ${target}: ${walkRefusal(target, new WalkError('symlink', target)).message}`);
    }
    // A mount root can't be renamed or replaced in the parent held open, so the mount seen here is the one umount gets.
    if (opts.mountId !== undefined && !isStillMounted(parent, target, opts.mountId)) return 'unmounted';
    result = await run('umount', ['--no-canonicalize', '--', via], { timeoutMs: opts.timeoutMs ?? DEFAULT_MOUNT_TIMEOUT_MS, fd3: parent });
  } finally {
    closeSync(parent);
  }
  if (result.timedOut) {
    throw new UnlockError('TIMEOUT', `Failed to unmount ${target}: umount did not finish in time`, { retryable: true });
  }
  if (result.exitCode === 0) return 'unmounted';
  if (/target is busy|device is busy/i.test(result.stderr)) return 'busy';
  if (/not mounted|no mount point specified/i.test(result.stderr)) return 'unmounted';
  throw new UnlockError(
    'SYSTEM',
    `Failed to unmount ${target}: ${firstLine(result.stderr, via, target) ?? `umount exited with status ${result.exitCode}`}`,
  );
}

/**
 * Whether `target` (in `parent`) is still the root of mount `expected`: false when it was unmounted since (the name
 * then lies on the parent's mount, as after an admin's umount); throws when another mount has taken its place.
 */
function isStillMounted(parent: number, target: string, expected: number): boolean {
  let fd: number;
  try {
    fd = openSync(fdPath(parent, basename(target)), O_PATH | constants.O_NOFOLLOW | constants.O_DIRECTORY);
  } catch (error) {
    throw new UnlockError('SYSTEM', `Failed to unmount ${target}: it is gone or no longer a directory (${(error as NodeJS.ErrnoException).code ?? 'error'}); left alone`);
  }
  try {
    const found = mountIdOf(fd);
    if (found === expected) return true;
    if (found === mountIdOf(parent)) return false;
    throw new UnlockError('SYSTEM', `Failed to unmount ${target}: the mount there changed since luks-ssm looked (mount id ${expected}, now ${found}); left it alone`, {
      hint: `check who can write to the directories above ${target}`,
    });
  } finally {
    closeSync(fd);
  }
}

/** The first line of a program's stderr, with the descriptor path it was given shown as the path it stands for. */
function firstLine(text: string, given: string, shown: string): string | undefined {
  return text
    .split('\n')
    .find((line) => line.trim() !== '')
    ?.trim()
    .replaceAll(given, shown);
}
