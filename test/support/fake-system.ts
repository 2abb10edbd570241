// An in-process stand-in for cryptsetup, mount and umount that keeps a dm table (listed in a fake sysfs) and a mountinfo file, so
// start/stop/status/check run end to end on a host without device-mapper. Records every call (argv + stdin).
import { existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { majorMinor } from '../../src/device/device-number.ts';
import type { RunOptions, RunResult, Runner, VolumeConfig } from '../../src/types.ts';
import type { VolumeDeps } from '../../src/volume/deps.ts';
import type { FetchedKey, KeySource } from '../../src/secret/source.ts';
import { Secret } from '../../src/secret/secret.ts';
import { createFakeClock, createRecordingLogger } from '../aws/fakes.ts';
import { addDmDevice, createSysfs, removeDmDevice } from './fake-sysfs.ts';

export interface Call {
  file: string;
  args: string[];
  input: Buffer | undefined;
}

export interface FakeSystem {
  dir: string;
  /** A block-device node (never opened) standing for the configured disk. */
  device: string;
  mountPoint: string;
  mountinfoPath: string;
  calls: Call[];
  /** Key bytes that open the device. */
  rightKey: Buffer;
  /** Name → underlying device of open mappings; each is also a device-mapper device in `sysRoot`. */
  mappings: Map<string, string>;
  /** The kernel's sysfs as the product reads it (VolumeDeps.sysRoot). */
  sysRoot: string;
  /** Mount point → source; mountinfoPath is rewritten on each change. */
  mounts: Map<string, string>;
  /** Mount points umount reports busy. */
  busy: Set<string>;
  luksDevices: Set<string>;
  /** The "Keyslots:" section `cryptsetup luksDump` prints; the right key opens slot 0. */
  keyslots: string;
  /** True: opening needs more memory than there is (cryptsetup exit 3), as with a 1 GiB argon2 slot on a small instance. */
  outOfMemory: boolean;
  run: Runner;
  cleanup(): void;
}

export const PBKDF2_SLOT = 'Keyslots:\n  0: luks2\n\tKey:        512 bits\n\tPBKDF:      pbkdf2\n\tHash:       sha512\n\tIterations: 1000\n\tDigest ID:  0\n';
export const ARGON2_1GIB_SLOT = 'Keyslots:\n  0: luks2\n\tKey:        512 bits\n\tPBKDF:      argon2id\n\tTime cost:  4\n\tMemory:     1048576\n\tThreads:    4\n\tDigest ID:  0\n';

const ok = (stdout = ''): RunResult => ({ exitCode: 0, stdout, stderr: '', timedOut: false });
const fail = (exitCode: number, stderr: string): RunResult => ({ exitCode, stdout: '', stderr, timedOut: false });

/** Minor numbers for the fake disks' nodes, none shared within a test file. */
let nextMinor = 250;

export function createFakeSystem(rightKey: Buffer): FakeSystem {
  const dir = mkdtempSync(join(tmpdir(), 'luks-ssm-fake-'));
  mkdirSync(join(dir, 'dev'));
  const device = join(dir, 'dev', 'disk0');
  // A block node resolveDevice accepts, the fake runner does the rest. Major 240 (reserved for local use) has no
  // driver: opening it (the LUKS magic read does) fails with ENXIO and creates nothing, where a loop major would make
  // the kernel create /dev/loopN. A number of its own: the device lock is named by it, and two fake systems are two disks.
  execFileSync('mknod', [device, 'b', '240', String(nextMinor++)]);
  const sysRoot = createSysfs(join(dir, 'sys'));
  const sys: FakeSystem = {
    dir,
    device,
    mountPoint: join(dir, 'srv', 'data'),
    mountinfoPath: join(dir, 'mountinfo'),
    calls: [],
    rightKey,
    mappings: new DmTable(sysRoot),
    sysRoot,
    mounts: new MountTable(join(dir, 'mountinfo')),
    busy: new Set(),
    luksDevices: new Set([device]),
    keyslots: PBKDF2_SLOT,
    outOfMemory: false,
    run: async (file, args, options?: RunOptions) => {
      sys.calls.push({ file, args: [...args], input: options?.input ? Buffer.from(options.input) : undefined });
      return answer(sys, file, [...args], options);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
  return sys;
}

/** The fake's dm table: a mapping opened or closed appears in, or leaves, its sysfs as the kernel's would. */
class DmTable extends Map<string, string> {
  private readonly sysRoot: string;
  constructor(sysRoot: string) {
    super();
    this.sysRoot = sysRoot;
  }
  override set(name: string, device: string): this {
    if (!this.has(name)) addDmDevice(this.sysRoot, name, undefined, numberOf(device));
    return super.set(name, device);
  }
  override delete(name: string): boolean {
    removeDmDevice(this.sysRoot, name);
    return super.delete(name);
  }
  override clear(): void {
    for (const name of this.keys()) removeDmDevice(this.sysRoot, name);
    super.clear();
  }
}

/** The disk's number when `device` is a block device node (the fake's disks are), else undefined. */
function numberOf(device: string): string | undefined {
  try {
    const info = statSync(device);
    return info.isBlockDevice() ? majorMinor(info.rdev) : undefined;
  } catch {
    return undefined;
  }
}

function answer(sys: FakeSystem, file: string, args: string[], options?: RunOptions): RunResult {
  const key = options?.input ? Buffer.from(options.input) : undefined;
  if (file === 'cryptsetup') {
    const [verb] = args;
    const last = args.at(-1) as string;
    if (verb === 'isLuks') return sys.luksDevices.has(last) ? ok() : fail(1, `Device ${last} is not a valid LUKS device.`);
    if (verb === 'status') return sys.mappings.has(last) ? ok(`/dev/mapper/${last} is active.\n  type:    LUKS2\n  device:  ${sys.mappings.get(last)}\n`) : fail(4, '');
    if (verb === 'close') {
      if (!sys.mappings.has(last)) return fail(4, `Device ${last} is not active.`);
      if ([...sys.mounts.values()].includes(`/dev/mapper/${last}`)) return fail(5, `Device ${last} is still in use.`);
      sys.mappings.delete(last);
      return ok();
    }
    if (verb === 'luksDump') return ok(`LUKS header information\nVersion:       \t2\n\n${sys.keyslots}Tokens:\nDigests:\n`);
    if (verb === 'open') {
      const end = args.indexOf('--');
      const testOnly = (end < 0 ? args : args.slice(0, end)).includes('--test-passphrase');
      const dev = testOnly ? last : (args.at(-2) as string);
      if (sys.outOfMemory) return fail(3, 'Not enough available memory to open a keyslot.');
      if (!key?.equals(sys.rightKey)) return fail(2, 'No key available with this passphrase.');
      // cryptsetup opens a disk exclusively: one that another mapping holds is refused as busy.
      if (!testOnly && [...sys.mappings.values()].includes(dev)) return fail(5, `Cannot use device ${dev} which is in use (already mapped or mounted).`);
      if (!testOnly) sys.mappings.set(last, dev);
      return ok(args.includes('--verbose') ? 'Key slot 0 unlocked.\nCommand successful.\n' : '');
    }
  }
  if (file === 'mount') {
    const [source, given] = args.slice(-2) as [string, string];
    const target = viaFd3(given, options);
    if (!existsSync(target)) return fail(32, `mount: ${given}: mount point does not exist.`);
    sys.mounts.set(target, source);
    return ok();
  }
  if (file === 'umount') {
    const target = viaFd3(args.at(-1) as string, options);
    if (sys.busy.has(target)) return fail(32, `umount: ${target}: target is busy.`);
    if (!sys.mounts.delete(target)) return fail(32, `umount: ${target}: not mounted.`);
    return ok();
  }
  return fail(127, `fake system: unexpected ${file} ${args.join(' ')}`);
}

/** The product names its target as /proc/self/fd/3/… with a directory on fd 3: the path the kernel would reach. */
function viaFd3(given: string, options?: RunOptions): string {
  if (!given.startsWith('/proc/self/fd/3/') || options?.fd3 === undefined) return given;
  const dir = readlinkSync(`/proc/self/fd/${options.fd3}`);
  const rest = given.slice('/proc/self/fd/3/'.length);
  return rest === '.' ? dir : join(dir, rest);
}

/** The fake's mount table: a test's own mount or a fake mount(8) shows in mountinfo at once, as the kernel's would. */
class MountTable extends Map<string, string> {
  private readonly path: string;
  constructor(path: string) {
    super();
    this.path = path;
    this.write();
  }
  override set(target: string, source: string): this {
    super.set(target, source);
    this.write();
    return this;
  }
  override delete(target: string): boolean {
    const deleted = super.delete(target);
    this.write();
    return deleted;
  }
  override clear(): void {
    super.clear();
    this.write();
  }
  private write(): void {
    const lines = ['22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw'];
    let id = 100;
    for (const [target, source] of this) lines.push(`${id++} 22 253:0 / ${target} rw,noatime shared:2 - ext4 ${source} rw`);
    writeFileSync(this.path, `${lines.join('\n')}\n`);
  }
}

/** A key source that offers `keys` in order, as an SSM source with history would. */
export function keysSource(keys: Array<{ bytes: Buffer; version: number }>, handed: Secret[] = []): KeySource {
  return {
    description: 'SSM parameter /test/key',
    async *keys(): AsyncGenerator<FetchedKey> {
      for (const k of keys) {
        const secret = Secret.copyOf(k.bytes);
        handed.push(secret);
        yield { secret, source: 'ssm:/test/key', version: k.version, region: 'us-east-1' };
      }
    },
  };
}

export function fakeConfig(sys: FakeSystem, over: Partial<VolumeConfig> = {}): VolumeConfig {
  return {
    volume: 'data',
    sources: [join(sys.dir, 'data.conf')],
    device: sys.device,
    mapName: 'data',
    fsType: 'ext4',
    mountOptions: 'noatime',
    mountPoint: sys.mountPoint,
    mountPointMode: 0o700,
    mountOverNonEmpty: false,
    ssmPath: '/test/key',
    ssmSelector: undefined,
    ssmValueEncoding: 'text',
    region: 'us-east-1',
    endpoints: {},
    timeoutSec: 90,
    deviceTimeoutSec: 5,
    requiredBy: [],
    ...over,
  } as VolumeConfig;
}

export function fakeDeps(sys: FakeSystem, source: KeySource, over: Partial<VolumeDeps> = {}) {
  const log = createRecordingLogger();
  const deps: VolumeDeps = {
    run: sys.run,
    clock: createFakeClock(),
    log,
    runDir: join(sys.dir, 'run'),
    mountinfoPath: sys.mountinfoPath,
    sysRoot: sys.sysRoot,
    crypttabPath: join(sys.dir, 'crypttab'),
    acquireLock: async () => ({ release: async () => {} }), acquireVolumeLock: async () => ({ release: async () => {} }),
    acquireDeviceLock: async () => ({ release: async () => {} }),
    // No lock: the fake system's runner is in-process (sh could not exec it); deps.run, so an `over.run` is used.
    runUnderHostLock: () => (file, args, options) => deps.run(file, args, options),
    keySource: () => source,
    activeDependents: async () => [],
    unitOfPid: async () => undefined,
    ...over,
  };
  return { deps, log };
}

/**
 * The fake disk named by LUKS_DEVICE=UUID=`uuid` (a by-uuid link under the returned devRoot), with a second disk that
 * carries the same UUID in udev's database, as a restored snapshot of the volume does; pass both roots to fakeDeps.
 */
export function withRestoredCopy(sys: FakeSystem, uuid: string): { devRoot: string; udevDataDir: string } {
  const devRoot = join(sys.dir, 'devroot');
  const udevDataDir = join(sys.dir, 'udev');
  mkdirSync(join(devRoot, 'disk', 'by-uuid'), { recursive: true });
  mkdirSync(udevDataDir);
  symlinkSync(sys.device, join(devRoot, 'disk', 'by-uuid', uuid));
  for (const [name, number] of [['nvme1n1', majorMinor(statSync(sys.device).rdev)], ['nvme2n1', '259:7']] as const) {
    mkdirSync(join(sys.sysRoot, 'class', 'block', name), { recursive: true });
    writeFileSync(join(sys.sysRoot, 'class', 'block', name, 'dev'), `${number}\n`);
    writeFileSync(join(udevDataDir, `b${number}`), `E:ID_FS_TYPE=crypto_LUKS\nE:ID_FS_UUID=${uuid}\n`);
  }
  return { devRoot, udevDataDir };
}
