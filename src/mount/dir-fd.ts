// Opens a path's directories one at a time without following symlinks, so whoever owns a parent can't redirect root.
import { closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { UnlockError } from '../errors.ts';
import { MOUNTINFO_PATH, parseMountinfo, type MountEntry } from './mountinfo.ts';

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** O_PATH (Linux; Node exports no constant): a handle on the name that never calls into its filesystem. */
export const O_PATH = 0o10000000;

/** Parents luks-ssm creates for a mount point are searchable by everyone, as systemd makes them. */
const PARENT_MODE = 0o755;

/** The kernel resolves this to exactly the directory the descriptor holds, whatever happened to its path since. */
export function fdPath(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

export interface DirWalk {
  /** The last component, open. */
  fd: number;
  /** Its parent, open: names are looked up (and umount resolves them) relative to it. */
  parentFd: number;
  /** The last component's name in the parent. */
  name: string;
  /** True when this walk created the last component. */
  created: boolean;
  close(): void;
}

export type WalkRefusal = 'symlink' | 'not-directory' | 'missing' | 'replaced';

/** Refusals name the component at fault, so the message can tell the user which path to fix. */
export class WalkError extends Error {
  readonly reason: WalkRefusal;
  /** The path up to and including the component at fault. */
  readonly component: string;

  constructor(reason: WalkRefusal, component: string) {
    super(`${component}: ${reason}`);
    this.name = 'WalkError';
    this.reason = reason;
    this.component = component;
  }
}

/**
 * Walks absolute, normalized `path` from / with O_NOFOLLOW|O_DIRECTORY on every component (each looked up
 * in the previous one's descriptor). With `create`, missing components are made (the last one with
 * `create.mode`, applied by fchmod on the descriptor, never by path). Throws WalkError for a symlink, a
 * non-directory or (without `create`) a missing component; UnlockError for anything else.
 */
export function walkDirectory(path: string, create?: { mode: number }, mountinfoPath = MOUNTINFO_PATH): DirWalk {
  const names = path.split('/').filter((name) => name !== '');
  if (!path.startsWith('/') || names.length === 0 || names.some((name) => name === '.' || name === '..')) {
    throw new UnlockError('INTERNAL', `walkDirectory needs an absolute normalized path below /, not ${path}`);
  }
  const fuse = new UserFuseMounts(mountinfoPath);
  let parent = openSync('/', DIR_FLAGS);
  let created = false;
  try {
    for (const [index, name] of names.entries()) {
      const last = index === names.length - 1;
      const here = `/${names.slice(0, index + 1).join('/')}`;
      const [fd, made] = openOrCreate(parent, name, here, create === undefined ? undefined : last ? create.mode : PARENT_MODE, (id) => fuse.refuseAt(id, here, path));
      if (last) {
        created = made;
        const parentFd = parent;
        return {
          fd,
          parentFd,
          name,
          created,
          close: () => {
            closeSync(fd);
            closeSync(parentFd);
          },
        };
      }
      closeSync(parent);
      parent = fd;
    }
  } catch (error) {
    closeSync(parent);
    throw error;
  }
  throw new UnlockError('INTERNAL', `walkDirectory: no component in ${path}`);
}

/** Opens directory `path` (absolute, normalized; "/" too) without following symlinks; the caller closes it. */
export function openDirectory(path: string): number {
  if (path === '/') return openSync('/', DIR_FLAGS);
  const walk = walkDirectory(path);
  closeSync(walk.parentFd);
  return walk.fd;
}

/**
 * The walk's calls are synchronous (one thread-pool round trip each would cost boot time), so a lookup in a FUSE
 * filesystem whose server never answers blocks the whole process: no deadline, no signal handler (review 9: a user
 * who can write a directory on the path mounts one there with allow_other). Each component is first reached as an
 * O_PATH handle, which asks nothing of its filesystem, and its mount judged from the handle itself (fdinfo's
 * mnt_id): a FUSE mount a user serves is refused before anything is opened or looked up in it. Judging the path
 * instead could be raced: a directory that holds a mount can be renamed, so the FUSE may be on the path at the
 * lookup and elsewhere when mountinfo was read (review 13).
 */
export class UserFuseMounts {
  readonly #mountinfoPath: string;
  readonly #readText: (path: string) => string;
  /** The kernel's table: the handle's mount id decides. Any other (tests) has ids of its own: the path decides. */
  readonly #byId: boolean;
  #byPath: MountEntry[] | undefined;

  constructor(mountinfoPath: string, readText = (path: string): string => readFileSync(path, 'utf8')) {
    this.#mountinfoPath = mountinfoPath;
    this.#readText = readText;
    this.#byId = mountinfoPath === MOUNTINFO_PATH;
  }

  /** Throws MOUNT_REFUSED when component `here` of `path`, on mount `id`, lies on a FUSE mount a user serves. */
  refuseAt(id: number, here: string, path: string): void {
    let entry: MountEntry | undefined;
    if (this.#byId) {
      // Read now that the handle is open: it pins mount `id`, so the table names that mount. A table read before
      // could name one freed since, whose id a user's FUSE then took (the kernel reuses the lowest free id).
      entry = this.#read().find((mount) => mount.mountId === id);
      if (entry === undefined) throw new UnlockError('MOUNT_REFUSED', `${here} (on the way to ${path}) is on mount ${id}, which /proc/self/mountinfo does not list, refusing to look into it`);
    } else {
      this.#byPath ??= this.#read();
      entry = this.#byPath.findLast((mount) => mount.target === here || (mount.target !== '/' && here.startsWith(`${mount.target}/`)));
    }
    const uid = entry === undefined ? undefined : userServing(entry);
    if (entry === undefined || uid === undefined) return;
    throw new UnlockError('MOUNT_REFUSED', `${entry.target} (on the way to ${path}) is a FUSE filesystem served by uid ${uid}, refusing to look into it: its server could stall luks-ssm`, {
      hint: `unmount ${entry.target}, or set LUKS_DEVICE_MOUNT_POINT outside it`,
    });
  }

  #read(): MountEntry[] {
    try {
      return parseMountinfo(this.#readText(this.#mountinfoPath));
    } catch {
      return [];
    }
  }
}

/** The uid serving a FUSE mount when it is not root; undefined for root's FUSE and any other filesystem. */
function userServing(entry: MountEntry): string | undefined {
  if (!/^fuse(blk)?(\.|$)/.test(entry.fsType)) return undefined;
  const uid = /(?:^|,)user_id=(\d+)(?:,|$)/.exec(entry.superOptions)?.[1];
  return uid === undefined || uid === '0' ? undefined : uid;
}

/** The id of the mount a descriptor's file lives on (proc(5): /proc/self/fdinfo's mnt_id); O_PATH handles too. */
export function mountIdOf(fd: number): number {
  const match = /^mnt_id:\s*(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  if (match === null) throw new UnlockError('SYSTEM', `Failed to read the mount id of ${fdPath(fd)}: no mnt_id in fdinfo`);
  return Number(match[1]);
}

/**
 * Opens component `name` of `parent`: an O_PATH handle first (never a symlink: O_NOFOLLOW|O_DIRECTORY), judged by
 * `judge` by its mount id, then the directory itself through the handle, on the same mount (one stacked on it since is refused).
 */
function openJudged(parent: number, name: string, here: string, judge: (mountId: number) => void): number {
  const handle = openSync(fdPath(parent, name), O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const mountId = mountIdOf(handle);
    judge(mountId);
    const fd = openSync(fdPath(handle), constants.O_RDONLY | constants.O_DIRECTORY);
    if (mountIdOf(fd) !== mountId) {
      closeSync(fd);
      throw new WalkError('replaced', here);
    }
    return fd;
  } finally {
    closeSync(handle);
  }
}

function openOrCreate(parent: number, name: string, here: string, mode: number | undefined, judge: (mountId: number) => void): [number, boolean] {
  try {
    return [openJudged(parent, name, here, judge), false];
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT' || mode === undefined) throw refusal(error, here, parent, name);
  }
  try {
    mkdirSync(fdPath(parent, name), { mode });
  } catch (error) {
    // Someone else made it first: open whatever is there, under the same rules.
    if (errnoOf(error) !== 'EEXIST') throw refusal(error, here, parent, name);
  }
  let fd: number;
  try {
    fd = openJudged(parent, name, here, judge);
  } catch (error) {
    throw refusal(error, here, parent, name);
  }
  // Ours only if root owns it and it is still empty: a directory swapped in between mkdir and open is not.
  const info = fstatSync(fd);
  if (info.uid !== 0 || readdirSync(fdPath(fd)).length > 0) {
    closeSync(fd);
    throw new WalkError('replaced', here);
  }
  fchmodSync(fd, mode); // mkdir's mode is filtered by the umask
  return [fd, true];
}

function refusal(error: unknown, here: string, parent: number, name: string): Error {
  if (error instanceof UnlockError || error instanceof WalkError) return error;
  const code = errnoOf(error);
  // With O_DIRECTORY a symlink fails as ENOTDIR (ELOOP without it): lstat tells the two apart, for the message only.
  if (code === 'ELOOP' || (code === 'ENOTDIR' && isSymlink(parent, name))) return new WalkError('symlink', here);
  if (code === 'ENOTDIR') return new WalkError('not-directory', here);
  if (code === 'ENOENT') return new WalkError('missing', here);
  const kind = code === 'EACCES' || code === 'EPERM' ? 'PERMISSION' : 'SYSTEM';
  return new UnlockError(kind, `Failed to open ${here}: ${code ?? 'error'}`, { cause: error });
}

function isSymlink(parent: number, name: string): boolean {
  try {
    return lstatSync(fdPath(parent, name)).isSymbolicLink();
  } catch {
    return false;
  }
}

export function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The directory's entries, read through the descriptor (not a path someone could swap). */
export function entriesOf(fd: number): string[] {
  return readdirSync(fdPath(fd));
}

/** Where the kernel says the descriptor's directory is now (d_path: no symlinks), or undefined if it was removed. */
export function currentPathOf(fd: number): string | undefined {
  const path = readlinkSync(fdPath(fd));
  return path.endsWith(' (deleted)') ? undefined : path;
}
