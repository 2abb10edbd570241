// Issue #10 item 1: a writer of the mount point's parent swaps in symlinks around each step of start; the
// volume (a real tmpfs standing in for /dev/mapper/data) must land exactly at the configured path or nowhere.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRunner, DEFAULT_EXEC_PATH } from '../../src/exec/run.ts';
import { UnlockError } from '../../src/errors.ts';
import { startVolume } from '../../src/volume/start.ts';
import { stopVolume } from '../../src/volume/stop.ts';
import { readVolumeStatus } from '../../src/volume/status.ts';
import type { Runner, VolumeConfig } from '../../src/types.ts';
import { createFakeSystem, fakeConfig, fakeDeps, keysSource, type FakeSystem } from '../support/fake-system.ts';

/**
 * Set by a test: runs right after the product creates a directory (its mkdir, before anything else). The product
 * makes directories through a descriptor (/proc/self/fd/N/name); the fakes' own mkdirs (the fake cryptsetup's
 * sysfs entries) do not fire it.
 */
const afterMkdir: { hook: ((path: string) => void) | undefined } = { hook: undefined };

function hooked<T extends (...args: never[]) => unknown>(real: T): T {
  return ((...args: Parameters<T>) => {
    const result = real(...args);
    const path = String(args[0]);
    const fire = (): void => {
      if (!path.startsWith('/proc/self/fd/')) return;
      const hook = afterMkdir.hook;
      afterMkdir.hook = undefined;
      hook?.(path);
    };
    if (result instanceof Promise) return result.then((value) => (fire(), value));
    fire();
    return result;
  }) as T;
}

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const mkdir = hooked(real.mkdir);
  return { ...real, mkdir, default: { ...real, mkdir } };
});
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const mkdirSync = hooked(real.mkdirSync);
  return { ...real, mkdirSync, default: { ...real, mkdirSync } };
});

const KEY = Buffer.from('k3y');

/** Root and mount(2) (a tmpfs) are needed; a container without them skips, the VM scenario covers it. */
function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = mkdtempSync(join(tmpdir(), 'luks-ssm-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', 'probe', probe], { stdio: 'ignore', env: { PATH: DEFAULT_EXEC_PATH }, timeout: 10_000 });
    execFileSync('umount', [probe], { stdio: 'ignore', env: { PATH: DEFAULT_EXEC_PATH }, timeout: 10_000 });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

let sys: FakeSystem;
let root: string;
/** The service account's directory: it may rename and symlink inside it at any time. */
let app: string;
let mountPoint: string;
/** Root-owned places the account must never get the volume (or a mode) onto. */
let emptyDir: string;
let etc: string;
let shadow: string;
/** Whatever runs just before the real mount(8): the race between the checks and the mount. */
let beforeMount: (() => void) | undefined;

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((target) => target === dir || target.startsWith(`${dir}/`));
}

/** cryptsetup is the fake's (no device-mapper needed); mount and umount are the real programs. */
function hybridRunner(): Runner {
  const real = createRunner();
  return async (file, args, options) => {
    if (file === 'cryptsetup') return sys.run(file, args, options);
    if (file === 'mount') {
      const hook = beforeMount;
      beforeMount = undefined;
      hook?.();
    }
    return real(file, args, options);
  };
}

function setUp(over: Partial<VolumeConfig> = {}) {
  const config = fakeConfig(sys, { mountPoint, fsType: 'tmpfs', mountOptions: 'nosuid', ...over });
  const { deps, log } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]), { run: hybridRunner(), mountinfoPath: undefined });
  return { config, deps, log };
}

async function rejection(promise: Promise<unknown>): Promise<UnlockError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(UnlockError);
  return error as UnlockError;
}

describe.skipIf(!canMount())('the mount point against a writer of its parent (root, real mounts)', () => {
  beforeEach(() => {
    sys = createFakeSystem(KEY);
    root = mkdtempSync(join(tmpdir(), 'luks-ssm-mps-'));
    app = join(root, 'home', 'app');
    mkdirSync(app, { recursive: true });
    mountPoint = join(app, 'data');
    emptyDir = join(root, 'usr-local-sbin');
    mkdirSync(emptyDir);
    etc = join(root, 'etc');
    mkdirSync(etc);
    writeFileSync(join(etc, 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
    shadow = join(root, 'shadow');
    writeFileSync(shadow, 'root:*:1::::::\n');
    chmodSync(shadow, 0o640);
    beforeMount = undefined;
    afterMkdir.hook = undefined;
  });
  afterEach(() => {
    for (const target of mountsUnder(root).reverse()) execFileSync('umount', [target], { env: { PATH: DEFAULT_EXEC_PATH } });
    rmSync(root, { recursive: true, force: true });
    sys.cleanup();
  });

  it('mounts exactly at the configured path; status sees it; stop unmounts it', async () => {
    const { config, deps } = setUp();
    expect(await startVolume(deps, config)).toBe('unlocked');
    expect(mountsUnder(root)).toEqual([mountPoint]);
    expect((await readVolumeStatus(deps, config, async () => [])).mount.mounted).toBe(true);
    expect(await startVolume(deps, config)).toBe('already-mounted');
    expect(await stopVolume(deps, config)).toBe('closed');
    expect(mountsUnder(root)).toEqual([]);
  });

  it('(a) refuses a mount point replaced by a symlink to an empty root-owned directory, mounting nothing', async () => {
    mkdirSync(mountPoint);
    rmSync(mountPoint, { recursive: true });
    symlinkSync(emptyDir, mountPoint);
    const { config, deps } = setUp();
    const error = await rejection(startVolume(deps, config));
    expect(error.exitCode).toBe(82);
    expect(error.message).toContain(`${mountPoint} is a symlink`);
    expect(mountsUnder(root)).toEqual([]);
  });

  it('(a) refuses a symlink anywhere in the path', async () => {
    rmSync(app, { recursive: true });
    mkdirSync(join(root, 'elsewhere', 'data'), { recursive: true });
    symlinkSync(join(root, 'elsewhere'), app);
    const { config, deps } = setUp();
    const error = await rejection(startVolume(deps, config));
    expect(error.exitCode).toBe(82);
    expect(error.message).toContain(`${app} (in ${mountPoint}) is a symlink`);
    expect(mountsUnder(root)).toEqual([]);
  });

  it('(b) a swap to a non-empty directory after the emptiness check mounts nothing there, and nothing stays mounted', async () => {
    mkdirSync(mountPoint);
    beforeMount = () => {
      renameSync(mountPoint, join(app, 'moved'));
      symlinkSync(etc, mountPoint);
    };
    const { config, deps } = setUp();
    const error = await rejection(startVolume(deps, config));
    expect(error.exitCode).toBe(82);
    expect(readdirSync(etc)).toEqual(['passwd']);
    expect(mountsUnder(root)).toEqual([]);
  });

  it('(c) a swap to a symlink between mkdir and chmod never changes the mode of what it points to', async () => {
    afterMkdir.hook = () => {
      renameSync(mountPoint, join(app, 'moved'));
      symlinkSync(shadow, mountPoint);
    };
    const { config, deps } = setUp({ mountPointMode: 0o755 });
    const error = await rejection(startVolume(deps, config));
    expect(error.exitCode).toBe(82);
    expect(statSync(shadow).mode & 0o7777).toBe(0o640);
    expect(mountsUnder(root)).toEqual([]);
  });

  it('status and "already mounted" judge the mount reached through the path, not a stale mountinfo line', async () => {
    const { config, deps } = setUp();
    expect(await startVolume(deps, config)).toBe('unlocked');
    // Something mounted over the parent hides our mount: mountinfo still lists the path, the path no longer reaches it.
    execFileSync('mount', ['-t', 'tmpfs', 'cover', app], { env: { PATH: DEFAULT_EXEC_PATH } });
    expect((await readVolumeStatus(deps, config, async () => [])).mount.mounted).toBe(false);
    expect(existsSync(mountPoint)).toBe(false);
  });
});
