// Reads one config file safely: only root may be able to change it, since it decides what is opened and mounted.
// Synchronous on purpose: a few small files read once per run, and each async call costs a thread-pool round
// trip at boot (about 2.5 ms for the two files, measured on the fetch path).
import { closeSync, constants, fstatSync, openSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UnlockError } from '../errors.ts';
import { parseKeyValueText, type ParsedConfigFile } from './parse.ts';

/** The sticky bit (S_ISVTX, inode(7)); node's fs.constants does not export it. */
const STICKY = 0o1000;

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
  checkDirectoryChain(dir, options.requireRootOwned);
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
    checkOwnership(path, stats, options.requireRootOwned);
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

/**
 * `dir` (a real path) and each directory above it: not writable by group/others, and root's when required.
 * Above the file's own directory a root-owned sticky directory (/tmp) passes: others cannot rename what they don't own.
 */
function checkDirectoryChain(dir: string, requireRootOwned: boolean): void {
  for (let current = dir, first = true; ; current = dirname(current), first = false) {
    const stats = statOrFail(current);
    const stickyRoot = !first && (stats.mode & STICKY) !== 0 && stats.uid === 0;
    if (!stickyRoot) checkOwnership(current, stats, requireRootOwned);
    if (current === '/') return;
  }
}

function readOrFail(path: string, fd: number): Buffer {
  try {
    return readFileSync(fd);
  } catch (error) {
    throw readFailure(path, error);
  }
}

function statOrFail(path: string): Stats {
  try {
    return statSync(path);
  } catch (error) {
    throw readFailure(path, error);
  }
}

/** The same rule systemd and sshd apply to files that grant power: writable by root alone. */
function checkOwnership(path: string, stats: Stats, requireRootOwned: boolean): void {
  const mode = (stats.mode & 0o7777).toString(8).padStart(4, '0');
  if ((stats.mode & 0o022) !== 0) {
    throw new UnlockError('CONFIG', `${path}: writable by group/others (mode ${mode}), refusing; ${fixFor(path, stats, `chmod go-w ${path}`)}`);
  }
  if (requireRootOwned && stats.uid !== 0) {
    throw new UnlockError('CONFIG', `${path}: owned by uid ${stats.uid}, not root, refusing; ${fixFor(path, stats, `chown root: ${path}`)}`);
  }
}

/**
 * The command for a file, and for a directory of root's own; a directory others share or own (/tmp, a home) must
 * not be changed for a config's sake (review 8: `chmod go-w /tmp`, `chown root:` of a home): the config moves.
 */
function fixFor(path: string, stats: Stats, command: string): string {
  const shared = stats.isDirectory() && (stats.uid !== 0 || (stats.mode & STICKY) !== 0);
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
