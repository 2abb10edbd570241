// The run directory's trust check: root creates, truncates and renames files there (locks, holders, unlock records),
// so a directory another user can write would let them plant symlinks that root then writes through (review 9).
import { lstatSync, realpathSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UnlockError } from '../errors.ts';
import { directoryChainFault, modeText } from '../trusted-path.ts';

/**
 * Refuses an overridden run directory (LUKS_SSM_RUN_DIR) that anyone but `uid` (or root) could change: a symlink
 * anywhere on its path, or the directory or one above it owned by another user or writable by group/others (a
 * root-owned sticky directory such as /tmp passes above it: others cannot rename what they don't own). When it is
 * still to be made, the same of the directory it goes in. The default, /run/luks-ssm, is made 0700 under root's /run.
 */
export function checkRunDir(dir: string, uid: number): void {
  const path = resolve(dir);
  const own = lstatOrUndefined(path);
  if (own !== undefined && (own.isSymbolicLink() || !own.isDirectory())) throw refusal(path, 'is not a directory (a symlink or a file)');
  const first = own === undefined ? dirname(path) : path;
  let real: string;
  try {
    real = realpathSync(first);
  } catch {
    throw refusal(path, `cannot be created: ${first} does not exist`);
  }
  if (real !== first) throw refusal(path, `has a symlink on its path (${first} is ${real})`);
  const fault = directoryChainFault(real, (owner) => owner === uid);
  switch (fault?.kind) {
    case undefined:
      return;
    case 'writable':
      throw refusal(fault.path, `is writable by group/others (mode ${modeText(fault.stats)})`);
    case 'owner':
      throw refusal(fault.path, `is owned by uid ${fault.stats.uid}, not ${uid}`);
    case 'not-directory':
      throw refusal(path, `cannot be checked: ${fault.path} is not a directory`);
    case 'unreadable':
      throw refusal(path, `cannot be checked: ${fault.path} cannot be read`);
  }
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
