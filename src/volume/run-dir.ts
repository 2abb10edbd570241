// The run directory's trust check: root creates, truncates and renames files there (locks, holders, unlock records),
// so a directory another user can write would let them plant symlinks that root then writes through (review 9).
import { lstatSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { UnlockError } from '../errors.ts';

/** The sticky bit (S_ISVTX, inode(7)); node's fs.constants does not export it. */
const STICKY = 0o1000;

/**
 * Refuses an overridden run directory (LUKS_SSM_RUN_DIR) that anyone but `uid` could write: the directory if it
 * exists (not a symlink, owned by `uid`, not group/other-writable), else the directory it will be created in (the
 * same, or root's sticky /tmp). The default, /run/luks-ssm, is made 0700 under root's /run and needs no check.
 */
export function checkRunDir(dir: string, uid: number): void {
  const own = lstatOrUndefined(dir);
  if (own !== undefined) {
    if (own.isSymbolicLink() || !own.isDirectory()) throw refusal(dir, 'is not a directory (a symlink or a file)');
    checkWritableByOwnerOnly(dir, own, uid);
    return;
  }
  const parent = dirname(dir);
  const above = lstatOrUndefined(parent);
  if (above === undefined || !above.isDirectory()) throw refusal(dir, `cannot be created: ${parent} is not a directory`);
  if ((above.mode & STICKY) !== 0 && above.uid === 0) return;
  checkWritableByOwnerOnly(parent, above, uid);
}

function checkWritableByOwnerOnly(path: string, stats: Stats, uid: number): void {
  if (stats.uid !== uid) throw refusal(path, `is owned by uid ${stats.uid}, not ${uid}`);
  if ((stats.mode & 0o022) !== 0) throw refusal(path, `is writable by group/others (mode ${(stats.mode & 0o7777).toString(8).padStart(4, '0')})`);
}

function refusal(path: string, what: string): UnlockError {
  return new UnlockError('CONFIG', `LUKS_SSM_RUN_DIR: ${path} ${what}, refusing: root writes lock files there`, {
    hint: 'unset LUKS_SSM_RUN_DIR, or name a directory only root can write',
  });
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
