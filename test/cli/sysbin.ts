// Installs the fake cryptsetup/mount/umount/systemd-ask-password/systemd-notify/dumpe2fs (test/fixtures/sysbin) into a per-test bin dir and reads their records.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, chmod, copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { majorMinor } from '../../src/device/device-number.ts';
import { addDmDevice, removeDmDevice } from '../support/fake-sysfs.ts';
import { REAL_CRYPTSETUP } from './luks-image.ts';

const SYSBIN = fileURLToPath(new URL('../fixtures/sysbin/', import.meta.url));
const PROGRAMS = ['cryptsetup', 'mount', 'umount', 'systemd-ask-password', 'systemd-notify', 'dumpe2fs'];
/** Where this distribution keeps a real program the fakes hand over to. */
const real = (name: string, dirs: string[]): string => dirs.map((dir) => join(dir, name)).find((file) => existsSync(file)) ?? join(dirs[0]!, name);
/** What the kernel would list before the volume is mounted. */
const ROOT_MOUNT = '22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n';

export interface FakeCall {
  program: string;
  args: string[];
  /** How many bytes the program read on stdin (the fakes count them, never keep them). */
  stdinBytes: number;
}

/** A call of the fake flock: its parent's pid, the file on its fd 3, its arguments. */
export interface FlockCall {
  ppid: number;
  fd3: string;
  args: string;
}

export interface FakeSystem {
  /** Put first on the CLI's PATH. */
  bin: string;
  /** Everything the fakes write: calls.log, env.log, mountinfo, mappings/, devices. */
  state: string;
  /** LUKS_SSM_MOUNTINFO */
  mountinfo: string;
  /** Makes `node` a block-device node (never opened) whose contents are the image file `image`. */
  addDevice(node: string, image: string): Promise<void>;
  setBusy(busy: boolean): Promise<void>;
  /**
   * Puts the real filesystem image `image` behind /dev/mapper/`mapName`: the fake mount has the real mount(8)
   * loop-mount it, the fake dumpe2fs reads it (a filesystem's own faults, with the kernel's verdict).
   */
  setFilesystem(mapName: string, image: string): Promise<void>;
  /** Unmounts what the real mount(8) mounted for the fakes (before the workspace is removed). */
  unmountReal(): Promise<void>;
  calls(): Promise<FakeCall[]>;
  /** The names of the environment variables each call saw, in call order. */
  envNames(): Promise<string[][]>;
  /** Names of open mappings. */
  mappings(): Promise<string[]>;
  /** With `flock: true`: every flock run, in order. */
  flockCalls(): Promise<FlockCall[]>;
  /** The process ids of the `cryptsetup open` calls (not --test-passphrase), in order. */
  openPids(): Promise<number[]>;
  /** Opens `mapName` on `device` as a run the test does not make would: the dm table and sysfs both show it. */
  addMapping(mapName: string, device: string): Promise<void>;
  /** Closes `mapName` behind the product's back. */
  removeMapping(mapName: string): Promise<void>;
}

/** Minor numbers for the fake disks' nodes, none shared within a test file. */
let nextMinor = 250;

const shellQuote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;

/**
 * `sysRoot`: the workspace's sysfs (LUKS_SSM_SYS_ROOT), where the fake cryptsetup lists its mappings as dm-N.
 * `flock: true` also puts a fake flock first, which notes each call and runs the real one.
 */
export async function installFakeSystem(dir: string, sysRoot: string, opts: { flock?: boolean } = {}): Promise<FakeSystem> {
  const bin = join(dir, 'bin');
  const state = join(dir, 'state');
  await mkdir(bin, { recursive: true });
  await mkdir(join(state, 'mappings'), { recursive: true });
  for (const program of opts.flock ? [...PROGRAMS, 'flock'] : PROGRAMS) {
    await copyFile(join(SYSBIN, program), join(bin, program));
    await chmod(join(bin, program), 0o755);
  }
  const common = (await readFile(join(SYSBIN, 'fake-common.sh'), 'utf8'))
    .replace('@STATE_DIR@', shellQuote(state))
    .replace('@SYS_ROOT@', shellQuote(sysRoot))
    .replace('@REAL_CRYPTSETUP@', shellQuote(REAL_CRYPTSETUP ?? '/usr/sbin/cryptsetup'))
    .replace('@REAL_MOUNT@', shellQuote(real('mount', ['/usr/bin', '/bin'])))
    .replace('@REAL_DUMPE2FS@', shellQuote(real('dumpe2fs', ['/usr/sbin', '/sbin'])))
    .replace('@REAL_FLOCK@', shellQuote(real('flock', ['/usr/bin', '/bin'])));
  await writeFile(join(bin, 'fake-common.sh'), common, { mode: 0o644 });
  const mountinfo = join(state, 'mountinfo');
  await writeFile(mountinfo, ROOT_MOUNT);
  await writeFile(join(state, 'devices'), '');
  await writeFile(join(state, 'calls.log'), '');
  await writeFile(join(state, 'env.log'), '');
  return {
    bin,
    state,
    mountinfo,
    async addDevice(node, image) {
      // A node of major 240 (local use, no driver: an open fails with ENXIO and creates no device): the product stats
      // it, its LUKS magic read fails over to the fake cryptsetup, which swaps in the image. The image is
      // named first: a start waiting for the node must never find it before the fake knows its image (it read 65).
      await appendFile(join(state, 'devices'), `${node} ${image}\n`);
      // A number of its own: the device lock is named by it, and two volumes' nodes are two disks.
      execFileSync('mknod', [node, 'b', '240', String(nextMinor++)]);
    },
    async setBusy(busy) {
      if (busy) await writeFile(join(state, 'busy'), '');
      else await rm(join(state, 'busy'), { force: true });
    },
    async setFilesystem(mapName, image) {
      await mkdir(join(state, 'filesystems'), { recursive: true });
      await writeFile(join(state, 'filesystems', mapName), `${image}\n`);
    },
    async unmountReal() {
      const targets = (await readFile(join(state, 'real-mounts'), 'utf8').catch(() => '')).split('\n').filter((t) => t !== '');
      for (const target of targets.reverse()) {
        try {
          execFileSync('umount', ['--', target], { stdio: 'ignore', timeout: 10_000 });
        } catch {
          // Already unmounted (a stop did it): nothing to undo.
        }
      }
    },
    async calls() {
      const text = await readFile(join(state, 'calls.log'), 'utf8');
      return text.split('\n').filter((line) => line !== '').map((line) => {
        const [program, ...rest] = line.split('\t');
        const stdin = rest.pop() ?? '';
        return { program: program ?? '', args: rest, stdinBytes: Number(stdin.replace('stdin=', '')) };
      });
    },
    async envNames() {
      const text = await readFile(join(state, 'env.log'), 'utf8');
      return text.split(/^== .*\n/m).slice(1).map((block) => block.split('\n').filter((l) => l.includes('=')).map((l) => l.slice(0, l.indexOf('='))).sort());
    },
    mappings: () => readdir(join(state, 'mappings')),
    async flockCalls() {
      const text = await readFile(join(state, 'flock.log'), 'utf8').catch(() => '');
      return text.split('\n').filter((line) => line !== '').map((line) => {
        const [ppid, fd3, args] = line.split('\t');
        return { ppid: Number(ppid), fd3: fd3 ?? '', args: args ?? '' };
      });
    },
    async openPids() {
      const text = await readFile(join(state, 'open.pids'), 'utf8').catch(() => '');
      return text.split('\n').filter((line) => line !== '').map(Number);
    },
    async addMapping(mapName, device) {
      await writeFile(join(state, 'mappings', mapName), `${device}\n`);
      // Listed among the disk's holders, as the kernel does, when the disk is one of the fake's nodes.
      const disk = await stat(device).catch(() => undefined);
      addDmDevice(sysRoot, mapName, undefined, disk?.isBlockDevice() ? majorMinor(disk.rdev) : undefined);
    },
    async removeMapping(mapName) {
      await rm(join(state, 'mappings', mapName));
      removeDmDevice(sysRoot, mapName);
    },
  };
}
