// The cached guest image of one Debian release: keyed by a hash of its recipe (the shared files under
// test/vm/image/ plus distros/<release>/), built atomically, reused when unchanged.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isProcessAlive, runCommand } from './proc.ts';

export const DEFAULT_CACHE_ROOT = '/var/cache/luks-ssm-vm';
/** The Debian releases with a guest recipe (test/vm/image/distros/<release>/), oldest first. */
export const DISTROS = ['bullseye', 'bookworm', 'trixie'] as const;
export type Distro = (typeof DISTROS)[number];
export const DEFAULT_DISTRO: Distro = 'bookworm';
/** ~2-3 min alone on 2 cores; 13-25+ min on a dev host shared with other builds (load ~20). */
const BUILD_TIMEOUT_MS = 40 * 60_000;
const RECIPE_DIR = new URL('../image/', import.meta.url).pathname;
const IMAGE_FILES = ['rootfs.raw', 'vmlinuz', 'initrd.img'] as const;
/** Images of other recipes unused this long are removed after a build (each is ~800 MiB). */
const UNUSED_IMAGE_MAX_AGE_MS = 7 * 24 * 3600_000;

export interface GuestImage {
  distro: Distro;
  dir: string;
  rootfs: string;
  kernel: string;
  initrd: string;
  built: boolean;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)]))
    .sort();
}

/** The files of one release's recipe: everything under the recipe dir except the other releases' folders. */
function recipeFiles(dir: string, distro: Distro): string[] {
  const distros = join(dir, 'distros');
  return listFiles(dir).filter((file) => !file.startsWith(`${distros}/`) || file.startsWith(join(distros, distro, '/')));
}

/**
 * sha256 over the release name and every file of its recipe (path, mode, bytes): any edit to the shared
 * recipe means new images of every release; an edit to one release's folder, a new image of that one only.
 */
export function hashRecipe(distro: Distro, dir: string = RECIPE_DIR): string {
  const hash = createHash('sha256');
  hash.update(`${distro}\0`);
  for (const file of recipeFiles(dir, distro)) {
    hash.update(`${relative(dir, file)}\0${statSync(file).mode & 0o777}\0`);
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

function isComplete(dir: string): boolean {
  return IMAGE_FILES.every((name) => existsSync(join(dir, name)));
}

function describe(distro: Distro, dir: string, built: boolean): GuestImage {
  return { distro, dir, rootfs: join(dir, 'rootfs.raw'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), built };
}

/** The mount points below `dir`, deepest first (an interrupted mmdebstrap leaves /proc, /sys, /dev/shm binds). */
function mountsBelow(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * Removes a build directory of ours. A build killed at its deadline leaves mmdebstrap's mounts in its chroot
 * (the host's /dev/shm among them): those are unmounted first (never forced), and while any remains nothing
 * is removed, since rm -r would go through into the host's files.
 */
export async function removeBuildDir(dir: string): Promise<void> {
  for (const point of mountsBelow(dir)) await runCommand('umount', [point], { timeoutMs: 30_000 });
  const left = mountsBelow(dir);
  if (left.length > 0) throw new Error(`${dir} still has mounts below it (${left.join(', ')}): unmount them, then remove it`);
  rmSync(dir, { recursive: true, force: true });
}

/** Removes temporary build directories left by interrupted builds (their builder process is gone). */
async function removeStaleBuilds(cacheRoot: string): Promise<void> {
  for (const name of readdirSync(cacheRoot)) {
    const match = /^\.tmp-[0-9a-f]+-(\d+)$/.exec(name);
    if (!match || isProcessAlive(Number(match[1]))) continue;
    await removeBuildDir(join(cacheRoot, name));
  }
}

/** Removes images of other recipes that no run has used for a week (a use refreshes the directory's mtime). */
function pruneUnusedImages(cacheRoot: string, keep: string): void {
  for (const name of readdirSync(cacheRoot)) {
    const dir = join(cacheRoot, name);
    if (name === keep || !/^[0-9a-f]{16}$/.test(name)) continue;
    if (Date.now() - statSync(dir).mtimeMs > UNUSED_IMAGE_MAX_AGE_MS) rmSync(dir, { recursive: true, force: true });
  }
}

/** Returns the cached image of the release's recipe, building it first (into a temp dir, then rename) if needed. */
export async function ensureImage(
  progress: (line: string) => void, distro: Distro, cacheRoot = DEFAULT_CACHE_ROOT,
): Promise<GuestImage> {
  const hash = hashRecipe(distro);
  const final = join(cacheRoot, hash);
  if (isComplete(final)) {
    const now = new Date();
    utimesSync(final, now, now);
    return describe(distro, final, false);
  }
  mkdirSync(cacheRoot, { recursive: true });
  await removeStaleBuilds(cacheRoot);
  const tmp = join(cacheRoot, `.tmp-${hash}-${process.pid}`);
  const logFile = join(cacheRoot, `build-${hash}.log`);
  await removeBuildDir(tmp);
  progress(`building ${distro} guest image ${hash} (log: ${logFile})`);
  const result = await runCommand('bash', [join(RECIPE_DIR, 'build.sh'), tmp, distro], { timeoutMs: BUILD_TIMEOUT_MS, logFile });
  if (result.timedOut || result.code !== 0 || !isComplete(tmp)) {
    await removeBuildDir(tmp);
    const why = result.timedOut ? `timed out after ${BUILD_TIMEOUT_MS / 1000} s` : `exited ${result.code ?? result.signal}`;
    throw new Error(`${distro} guest image build ${why}; see ${logFile}`);
  }
  if (isComplete(final)) await removeBuildDir(tmp);
  else renameSync(tmp, final);
  pruneUnusedImages(cacheRoot, hash);
  return describe(distro, final, true);
}
