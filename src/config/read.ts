// Reads one config file safely: only root may be able to change it, since it decides what is opened and mounted.
// Synchronous on purpose: a few small files read once per run, and each async call costs a thread-pool round
// trip at boot (about 2.5 ms for the two files, measured on the fetch path).
import { closeSync, constants, fstatSync, openSync, readFileSync, realpathSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UnlockError } from '../errors.ts';
import { directoryChainFault, isSticky, modeText, ownershipFault, type OwnerRule, type PathFault } from '../trusted-path.ts';
import { parseKeyValueText, type ParsedConfigFile } from './parse.ts';

/** Config files are a few lines; anything this big is not one. */
export const CONFIG_FILE_MAX_BYTES = 64 * 1024;

export interface ReadConfigOptions {
  /** Refuse files (and their directory) not owned by uid 0. */
  requireRootOwned: boolean;
  /** Builds the error for a missing file; returning undefined means "missing is fine". */
  onMissing: (path: string) => UnlockError | undefined;
}

/**
 * Reads and parses `path`; undefined when it does not exist and `onMissing` allows that. The directory chain is
 * judged first (sshd's safe_path: its real path and every directory above it), and only then is the file
 * opened, without following a symlink: nothing in a directory others could change is ever opened by root.
 */
export function readConfigFile(path: string, options: ReadConfigOptions): ParsedConfigFile | undefined {
  let dir: string;
  try {
    dir = realpathSync(dirname(path));
  } catch (error) {
    return missingOr(path, error, options);
  }
  const mayOwn: OwnerRule = () => !options.requireRootOwned;
  refuseFault(directoryChainFault(dir, mayOwn));
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted as a config file must be refused below, not block start-up here.
    fd = openSync(join(dir, basename(path)), constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (error) {
    if (codeOf(error) === 'ELOOP') throw new UnlockError('CONFIG', `${path}: a symlink, refusing; put the config file itself there`);
    return missingOr(path, error, options);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new UnlockError('CONFIG', `${path}: not a regular file, refusing`);
    refuseFault(ownershipFault(path, stats, mayOwn));
    if (stats.size > CONFIG_FILE_MAX_BYTES) throw new UnlockError('CONFIG', `${path}: larger than 64 KiB, refusing`);
    return parseKeyValueText(decodeText(path, readOrFail(path, fd)), path);
  } finally {
    closeSync(fd);
  }
}

function missingOr(path: string, error: unknown, options: ReadConfigOptions): undefined {
  if (codeOf(error) !== 'ENOENT' && codeOf(error) !== 'ENOTDIR') throw readFailure(path, error);
  const missing = options.onMissing(path);
  if (missing) throw missing;
  return undefined;
}

function readOrFail(path: string, fd: number): Buffer {
  try {
    return readFileSync(fd);
  } catch (error) {
    throw readFailure(path, error);
  }
}

/** A fault of the config or its directories as one refusal naming the fix. */
function refuseFault(fault: PathFault | undefined): void {
  if (fault === undefined) return;
  const { path } = fault;
  switch (fault.kind) {
    case 'writable':
      throw new UnlockError('CONFIG', `${path}: writable by group/others (mode ${modeText(fault.stats)}), refusing; ${fixFor(path, fault.stats, `chmod go-w ${path}`)}`);
    case 'owner':
      throw new UnlockError('CONFIG', `${path}: owned by uid ${fault.stats.uid}, not root, refusing; ${fixFor(path, fault.stats, `chown root: ${path}`)}`);
    case 'not-directory':
      throw new UnlockError('CONFIG', `${path}: not a directory, refusing`);
    case 'unreadable':
      throw readFailure(path, fault.error);
  }
}

/**
 * The command for a file, and for a directory of root's own; a directory others share or own (/tmp, a home) must
 * not be changed for a config's sake (review 8: `chmod go-w /tmp`, `chown root:` of a home): the config moves.
 */
function fixFor(path: string, stats: Stats, command: string): string {
  const shared = stats.isDirectory() && (stats.uid !== 0 || isSticky(stats));
  return shared ? `move the config into a directory only root can write (as /etc/luks-ssm), not ${path}'s owner or mode` : `run: ${command}`;
}

function decodeText(path: string, bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new UnlockError('CONFIG', `${path}: not UTF-8 text, refusing`, { cause: error });
  }
}

function readFailure(path: string, error: unknown): UnlockError {
  const code = codeOf(error);
  if (code === 'EACCES' || code === 'EPERM') {
    return new UnlockError('PERMISSION', `${path}: permission denied`, { cause: error, hint: 'run luks-ssm as root' });
  }
  if (code === 'EISDIR') return new UnlockError('CONFIG', `${path}: is a directory, not a config file`, { cause: error });
  return new UnlockError('CONFIG', `Failed to read ${path}: ${code ?? String(error)}`, { cause: error });
}

function codeOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
