// start: the orchestration on a fake system — key on stdin only, idempotence, refusals, version fallback.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startVolume } from '../../src/volume/start.ts';
import { UnlockError } from '../../src/errors.ts';
import type { Secret } from '../../src/secret/secret.ts';
import type { KeySource } from '../../src/secret/source.ts';
import { majorMinor } from '../../src/device/device-number.ts';
import { readUnlockRecord } from '../../src/volume/unlock-record.ts';
import { addDmDevice, addHolder } from '../support/fake-sysfs.ts';
import { createFakeSystem, fakeConfig, fakeDeps, keysSource, withRestoredCopy, type FakeSystem } from '../support/fake-system.ts';

const KEY = Buffer.from('correct horse\nbattery\0staple \xff', 'latin1');
const OLD_KEY = Buffer.from('an older passphrase');
let sys: FakeSystem;

afterEach(() => sys?.cleanup());

async function rejection(promise: Promise<unknown>): Promise<UnlockError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(UnlockError);
  return error as UnlockError;
}

function cryptsetupOpens(): string[][] {
  return sys.calls.filter((c) => c.file === 'cryptsetup' && c.args[0] === 'open').map((c) => c.args);
}

describe('startVolume', () => {
  it('opens with the key on stdin only, mounts with the configured options and records the version', async () => {
    sys = createFakeSystem(KEY);
    const handed: Secret[] = [];
    const { deps, log } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 7 }], handed));

    expect(await startVolume(deps, fakeConfig(sys))).toBe('unlocked');

    // The kernel had no device-mapper device named data (sysfs): nothing asked cryptsetup whether it was open (#13).
    expect(sys.calls.filter((c) => c.args[0] === 'status')).toEqual([]);
    const open = sys.calls.find((c) => c.args[0] === 'open');
    expect(open?.args).toEqual(['open', '--type', 'luks', '--key-file=-', '--', sys.device, 'data']);
    expect(open?.input?.equals(KEY)).toBe(true);
    expect(sys.calls.find((c) => c.file === 'mount')?.args).toEqual(['--no-canonicalize', '-t', 'ext4', '-o', 'noatime', '--', '/dev/mapper/data', '/proc/self/fd/3/.']);
    expect(sys.mounts.get(sys.mountPoint)).toBe('/dev/mapper/data');
    expect(handed.every((s) => s.wiped)).toBe(true);

    const record = JSON.parse(readFileSync(join(deps.runDir, 'data.json'), 'utf8'));
    expect(record).toMatchObject({ volume: 'data', device: sys.device, version: 7, source: 'ssm:/test/key' });
    const everything = JSON.stringify(log.lines) + readdirSync(deps.runDir).map((f) => readFileSync(join(deps.runDir, f), 'latin1')).join('');
    expect(everything.includes(KEY.toString('latin1'))).toBe(false);
    expect(sys.calls.filter((c) => c.args.some((a) => a.includes('correct horse')))).toEqual([]);
  });

  it('is a no-op when the volume is already open and mounted where configured', async () => {
    sys = createFakeSystem(KEY);
    sys.mappings.set('data', sys.device);
    mkdirSync(sys.mountPoint, { recursive: true });
    sys.mounts.set(sys.mountPoint, '/dev/mapper/data');
    const handed: Secret[] = [];
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }], handed));
    await startVolume(deps, fakeConfig(sys)).then(() => undefined);
    expect(await startVolume(deps, fakeConfig(sys))).toBe('already-mounted');
    expect(handed).toEqual([]);
    expect(cryptsetupOpens()).toEqual([]);
  });

  it('mounts an already open mapping without fetching the key', async () => {
    sys = createFakeSystem(KEY);
    sys.mappings.set('data', sys.device);
    const handed: Secret[] = [];
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }], handed));
    expect(await startVolume(deps, fakeConfig(sys))).toBe('mounted-open-volume');
    expect(sys.calls.filter((c) => c.args[0] === 'status').map((c) => c.args)).toEqual([['status', '--', 'data']]);
    expect(handed).toEqual([]);
    expect(sys.mounts.get(sys.mountPoint)).toBe('/dev/mapper/data');
    // Which disk it is on is recorded for stop; which key opened it, nobody knows here.
    const record = await readUnlockRecord(deps.runDir, 'data');
    expect(record).toMatchObject({ device: sys.device, mapName: 'data', source: expect.stringContaining('unknown') });
    expect(record?.version).toBeUndefined();
  });

  it('keeps the record of the start that opened a mapping when a later start only mounts it again', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 5 }]));
    expect(await startVolume(deps, fakeConfig(sys))).toBe('unlocked');
    sys.mounts.clear();
    expect(await startVolume(deps, fakeConfig(sys))).toBe('mounted-open-volume');
    expect(await readUnlockRecord(deps.runDir, 'data')).toMatchObject({ device: sys.device, version: 5 });
  });

  it('falls back to an older version only when the newer one opens no keyslot', async () => {
    sys = createFakeSystem(OLD_KEY);
    const handed: Secret[] = [];
    const { deps, log } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 8 }, { bytes: OLD_KEY, version: 7 }], handed));
    expect(await startVolume(deps, fakeConfig(sys))).toBe('unlocked');
    expect(cryptsetupOpens()).toHaveLength(2);
    expect(handed.map((s) => s.wiped)).toEqual([true, true]);
    expect(JSON.parse(readFileSync(join(deps.runDir, 'data.json'), 'utf8')).version).toBe(7);
    expect(log.lines.some((l) => l.level === 'warn' && l.msg?.includes('version 8 opens no keyslot'))).toBe(true);
  });

  it('fails with WRONG_PASSPHRASE (exit 80) when no version opens, leaving nothing open or mounted', async () => {
    sys = createFakeSystem(Buffer.from('something else'));
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 2 }, { bytes: OLD_KEY, version: 1 }]));
    const error = await rejection(startVolume(deps, fakeConfig(sys)));
    expect(error.exitCode).toBe(80);
    expect(error.message).toContain('2 versions tried');
    expect(sys.mappings.size + sys.mounts.size).toBe(0);
    // Review 8: the mount point (and its parent) is made only once the volume is open, not by the early check.
    expect(existsSync(dirname(sys.mountPoint))).toBe(false);
  });

  it('says so when a key that opens nothing ends with a line break a shell script would have dropped (review 8)', async () => {
    sys = createFakeSystem(Buffer.from('migrated passphrase'));
    const { deps } = fakeDeps(sys, keysSource([{ bytes: Buffer.from('migrated passphrase\n'), version: 1 }]));
    const error = await rejection(startVolume(deps, fakeConfig(sys)));
    expect(error.exitCode).toBe(80);
    expect(error.hint).toMatch(/^the value ends with a line break, which luks-ssm keeps \(a shell script's \$\(aws ssm get-parameter …\) dropped it\)/);
    // Any other wrong key keeps the usual hint.
    sys.cleanup();
    sys = createFakeSystem(Buffer.from('something else'));
    const other = await rejection(startVolume(fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }])).deps, fakeConfig(sys)));
    expect(other.hint).toMatch(/^check SSM_PATH/);
  });

  it('refuses (89) a UUID= that a second disk carries too (a restored snapshot), before any key or cryptsetup', async () => {
    sys = createFakeSystem(KEY);
    const uuid = '5f2c0c4e-7d4b-4b8e-9a57-1d2f3e4a5b6c';
    let asked = 0;
    const source = keysSource([{ bytes: KEY, version: 3 }]);
    const counting: KeySource = { ...source, description: source.description, keys: (deadline) => ((asked += 1), source.keys(deadline)) };
    const { deps } = fakeDeps(sys, counting, withRestoredCopy(sys, uuid));
    await expect(startVolume(deps, fakeConfig(sys, { device: `UUID=${uuid}` }))).rejects.toMatchObject({
      exitCode: 89, message: expect.stringContaining(`names 2 disks (/dev/nvme1n1, /dev/nvme2n1; udev points at ${sys.device})`),
    });
    expect(asked).toBe(0);
    expect(sys.calls.filter((c) => c.file === 'cryptsetup')).toEqual([]);
    expect(sys.mappings.size + sys.mounts.size).toBe(0);
  });

  it('refuses a device that is not LUKS without asking for the key', async () => {
    sys = createFakeSystem(KEY);
    sys.luksDevices.clear();
    const handed: Secret[] = [];
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }], handed));
    const error = await rejection(startVolume(deps, fakeConfig(sys)));
    expect(error.kind).toBe('NOT_LUKS');
    expect(error.message).toContain('refusing');
    expect(handed).toEqual([]);
  });

  it('refuses to mount over a non-empty mount point before fetching the key', async () => {
    sys = createFakeSystem(KEY);
    mkdirSync(sys.mountPoint, { recursive: true });
    writeFileSync(join(sys.mountPoint, 'written-before-unlock'), 'x');
    const handed: Secret[] = [];
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }], handed));
    const error = await rejection(startVolume(deps, fakeConfig(sys)));
    expect(error.kind).toBe('MOUNT_REFUSED');
    expect(handed).toEqual([]);
    expect(sys.mappings.size).toBe(0);
  });

  it('asks systemd about dependents and begins the AWS warm-up before the volume locks: both overlap the lock process', async () => {
    sys = createFakeSystem(KEY);
    const events: string[] = [];
    const source = {
      ...keysSource([{ bytes: KEY, version: 1 }]),
      warmUp: () => (events.push('warm-up'), { stop: () => events.push('stop') }),
      keys: (deadline: number) => (events.push('key fetched'), keysSource([{ bytes: KEY, version: 1 }]).keys(deadline)),
    };
    const { deps } = fakeDeps(sys, source, {
      activeDependents: async () => (events.push('dependents asked'), []),
      acquireVolumeLock: async () => (events.push('volume locks'), { release: async () => {} }),
    });
    expect(await startVolume(deps, fakeConfig(sys, { requiredBy: ['app.service'] }))).toBe('unlocked');
    expect(events).toEqual(['dependents asked', 'warm-up', 'volume locks', 'key fetched', 'stop']);
  });

  it('clears its status line once the volume is open, so systemd-notify runs beside mount, not after it', async () => {
    sys = createFakeSystem(KEY);
    const events: string[] = [];
    const statusLine = { set: () => {}, clear: async () => void events.push('status cleared') };
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]), {
      statusLine,
      run: (file, args, options) => (((file === 'cryptsetup' && args[0] === 'open') || file === 'mount') && events.push(`${file} ${args[0]}`), sys.run(file, args, options)),
    });
    expect(await startVolume(deps, fakeConfig(sys))).toBe('unlocked');
    expect(events.slice(0, 3)).toEqual(['cryptsetup open', 'status cleared', expect.stringMatching(/^mount /)]);
  });

  it('waits for the status line\'s clear before it lets go of the locks and ends (systemd-notify is not cut off)', async () => {
    sys = createFakeSystem(KEY);
    const events: string[] = [];
    // As src/systemd/notify.ts: a second clear waits for the one in flight.
    let clearing: Promise<void> | undefined;
    const statusLine = {
      set: () => {},
      clear: () => (clearing ??= new Promise<void>((resolve) => setTimeout(resolve, 50)).then(() => void events.push('status cleared'))),
    };
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]), {
      statusLine,
      acquireVolumeLock: async () => ({ release: async () => void events.push('volume locks released') }),
    });
    expect(await startVolume(deps, fakeConfig(sys))).toBe('unlocked');
    events.push('start ended');
    expect(events).toEqual(['status cleared', 'volume locks released', 'start ended']);
  });

  it('a status line whose clear fails does not fail the start', async () => {
    sys = createFakeSystem(KEY);
    const statusLine = { set: () => {}, clear: async () => { throw new Error('notify socket gone'); } };
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]), { statusLine });
    expect(await startVolume(deps, fakeConfig(sys))).toBe('unlocked');
    expect(sys.mounts.size).toBe(1);
  });

  it('stops the warm-up when the volume locks are not had (LOCKED), fetching no key', async () => {
    sys = createFakeSystem(KEY);
    const handed: Secret[] = [];
    let stopped = 0;
    const source = { ...keysSource([{ bytes: KEY, version: 1 }], handed), warmUp: () => ({ stop: () => { stopped += 1; } }) };
    const { deps } = fakeDeps(sys, source, {
      acquireVolumeLock: async () => { throw new UnlockError('LOCKED', 'Another luks-ssm run holds the lock'); },
    });
    expect((await rejection(startVolume(deps, fakeConfig(sys)))).kind).toBe('LOCKED');
    expect(stopped).toBe(1);
    expect(handed).toEqual([]);
    expect(cryptsetupOpens()).toEqual([]);
  });

  it('a failed question to systemd, asked early, fails start in its turn (after the locks) and is no unhandled rejection', async () => {
    sys = createFakeSystem(KEY);
    const events: string[] = [];
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]), {
      activeDependents: async () => { throw new UnlockError('SYSTEM', 'Failed to ask systemd: bus gone'); },
      acquireVolumeLock: async () => (events.push('volume locks'), { release: async () => void events.push('released') }),
    });
    const error = await rejection(startVolume(deps, fakeConfig(sys, { requiredBy: ['app.service'] })));
    expect(error.message).toBe('Failed to ask systemd: bus gone');
    expect(events).toEqual(['volume locks', 'released']);
    expect(cryptsetupOpens()).toEqual([]);

    // The locks not taken: start fails with LOCKED, and the early question's failure is nobody's to handle.
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { deps: locked } = fakeDeps(sys, keysSource([]), {
        activeDependents: async () => { throw new UnlockError('SYSTEM', 'Failed to ask systemd: bus gone'); },
        acquireVolumeLock: async () => { throw new UnlockError('LOCKED', 'Another luks-ssm run holds the lock'); },
      });
      expect((await rejection(startVolume(locked, fakeConfig(sys, { requiredBy: ['app.service'] })))).kind).toBe('LOCKED');
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('stops the warm-up, fetching no key, when start refuses before the key', async () => {
    sys = createFakeSystem(KEY);
    sys.luksDevices.clear();
    const handed: Secret[] = [];
    let stopped = 0;
    const source = { ...keysSource([{ bytes: KEY, version: 1 }], handed), warmUp: () => ({ stop: () => { stopped += 1; } }) };
    const { deps } = fakeDeps(sys, source);
    expect((await rejection(startVolume(deps, fakeConfig(sys)))).kind).toBe('NOT_LUKS');
    expect(stopped).toBe(1);
    expect(handed).toEqual([]);
  });

  it('refuses when a dependent is already running, naming it', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]), {
      activeDependents: async (units) => units.filter((u) => u === 'postgresql.service'),
    });
    const error = await rejection(startVolume(deps, fakeConfig(sys, { requiredBy: ['postgresql.service', 'docker.service'] })));
    expect(error.kind).toBe('MOUNT_REFUSED');
    expect(error.message).toContain('postgresql.service already running');
    expect(cryptsetupOpens()).toEqual([]);
  });

  it('asks systemd again about dependents when another run held the locks first (a stop stops them meanwhile)', async () => {
    sys = createFakeSystem(KEY);
    const answers = [['postgresql.service'], []];
    const asked: number[] = [];
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]), {
      activeDependents: async () => (asked.push(asked.length), answers[asked.length - 1] ?? []),
      acquireVolumeLock: async () => ({ release: async () => {}, waited: true }),
    });
    expect(await startVolume(deps, fakeConfig(sys, { requiredBy: ['postgresql.service'] }))).toBe('unlocked');
    expect(asked).toEqual([0, 1]);
  });

  it('asks systemd once when the locks were free', async () => {
    sys = createFakeSystem(KEY);
    let asked = 0;
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]), { activeDependents: async () => (asked += 1, []) });
    expect(await startVolume(deps, fakeConfig(sys, { requiredBy: ['postgresql.service'] }))).toBe('unlocked');
    expect(asked).toBe(1);
  });

  it('refuses when another filesystem is mounted at the mount point', async () => {
    sys = createFakeSystem(KEY);
    mkdirSync(sys.mountPoint, { recursive: true });
    sys.mounts.set(sys.mountPoint, '/dev/vdb1');
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]));
    const error = await rejection(startVolume(deps, fakeConfig(sys)));
    expect(error.message).toContain('/dev/vdb1 mounted on it');
    expect(cryptsetupOpens()).toEqual([]);
  });

  it('refuses a mapping of that name open on another device', async () => {
    sys = createFakeSystem(KEY);
    sys.mappings.set('data', '/dev/sdz');
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]));
    const error = await rejection(startVolume(deps, fakeConfig(sys)));
    expect(error.message).toContain('open on /dev/sdz');
    expect(sys.mounts.size).toBe(0);
  });

  it('refuses a disk already open under another name before fetching the key, naming the mapping (DEVICE_IN_USE)', async () => {
    sys = createFakeSystem(KEY);
    sys.mappings.set('byhand', sys.device);
    const handed: Secret[] = [];
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }], handed));
    const error = await rejection(startVolume(deps, fakeConfig(sys)));
    expect(error.kind).toBe('DEVICE_IN_USE');
    expect(error.message).toBe(`${sys.device} (LUKS_DEVICE=${sys.device}) is already open as byhand (/dev/mapper/byhand), refusing to open it as data`);
    expect(error.hint).toContain('cryptsetup close byhand');
    expect(handed).toEqual([]);
    expect(cryptsetupOpens()).toEqual([]);
    expect([...sys.mappings.keys()]).toEqual(['byhand']);
    expect(sys.mounts.size).toBe(0);
  });

  it('names the /etc/crypttab line that opened the disk under another name as the cause to remove', async () => {
    sys = createFakeSystem(KEY);
    sys.mappings.set('old-data', sys.device);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]));
    writeFileSync(deps.crypttabPath!, `home UUID=1234 none luks\nold-data ${sys.device} none luks\n`);
    const error = await rejection(startVolume(deps, fakeConfig(sys)));
    expect(error.kind).toBe('DEVICE_IN_USE');
    expect(error.hint).toBe(`${deps.crypttabPath}:2 opens it as old-data: remove that line (luks-ssm opens this disk), then cryptsetup close old-data and start again`);
  });

  it('picks the fix by who made the holder: LVM, multipath, anything else', async () => {
    const cases: Array<[string, string]> = [
      ['LVM-abc', 'LVM uses this disk (vg-lv is a logical volume on it): check LUKS_DEVICE'],
      ['mpath-3600', 'is one path of the multipath device vg-lv: set LUKS_DEVICE=/dev/mapper/vg-lv'],
      ['', 'dmsetup info vg-lv: check LUKS_DEVICE'],
    ];
    for (const [uuid, hint] of cases) {
      sys = createFakeSystem(KEY);
      addDmDevice(sys.sysRoot, 'vg-lv', uuid, majorMinor(statSync(sys.device).rdev));
      const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]));
      const error = await rejection(startVolume(deps, fakeConfig(sys)));
      expect(error.kind).toBe('DEVICE_IN_USE');
      expect(error.hint).toContain(hint);
      sys.cleanup();
    }
  });

  it('names another volume\'s LUKS2 integrity mapping by its top (foo), not its helper (foo_dif), with the crypttab line for it', async () => {
    sys = createFakeSystem(KEY);
    const dif = addDmDevice(sys.sysRoot, 'foo_dif', 'CRYPT-SUBDEV-foo_dif', majorMinor(statSync(sys.device).rdev));
    addDmDevice(sys.sysRoot, 'foo', 'CRYPT-LUKS2-1234-foo', dif);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]));
    writeFileSync(deps.crypttabPath!, `foo ${sys.device} none luks\n`);
    const error = await rejection(startVolume(deps, fakeConfig(sys)));
    expect(error.message).toContain('is already open as foo (/dev/mapper/foo), refusing');
    expect(error.hint).toContain(':1 opens it as foo: remove that line');
  });

  it('shows a holder name with control characters escaped', async () => {
    sys = createFakeSystem(KEY);
    addDmDevice(sys.sysRoot, 'x\x1b[2J', undefined, majorMinor(statSync(sys.device).rdev));
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]));
    const error = await rejection(startVolume(deps, fakeConfig(sys)));
    expect(error.message).toContain('already open as x\\x1b[2J');
    expect(error.message + (error.hint ?? '')).not.toContain('\x1b');
  });

  it('is not held up by cryptsetup\'s own short-lived temporary-cryptsetup-* device on the disk', async () => {
    sys = createFakeSystem(KEY);
    addDmDevice(sys.sysRoot, 'temporary-cryptsetup-4242', 'CRYPT-TEMP-temporary-cryptsetup-4242', majorMinor(statSync(sys.device).rdev));
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]));
    expect(await startVolume(deps, fakeConfig(sys))).toBe('unlocked');
  });

  it('names what took the disk between its look and the open (the open refused as busy), not "busy"', async () => {
    sys = createFakeSystem(KEY);
    const late: KeySource = {
      description: 'SSM parameter /test/key',
      async *keys() {
        sys.mappings.set('late', sys.device);
        yield* keysSource([{ bytes: KEY, version: 1 }]).keys(0);
      },
    };
    // A person at the console is never asked: a typed key would meet the same disk (review 6: it was, until the deadline).
    const asked: string[] = [];
    const { deps } = fakeDeps(sys, late, { askPassword: async (opts) => (asked.push(opts.message), { none: 'nobody answered' }) });
    const error = await rejection(startVolume(deps, fakeConfig(sys)));
    expect(error.kind).toBe('DEVICE_IN_USE');
    expect(error.message).toContain('already open as late');
    expect(asked).toEqual([]);
    expect(cryptsetupOpens()).toHaveLength(1);
    expect(sys.mappings.has('data')).toBe(false);
  });

  it('names a holder that is not device-mapper (md) by its kernel name', async () => {
    sys = createFakeSystem(KEY);
    addHolder(sys.sysRoot, majorMinor(statSync(sys.device).rdev), 'md127');
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]));
    const error = await rejection(startVolume(deps, fakeConfig(sys)));
    expect(error.kind).toBe('DEVICE_IN_USE');
    expect(error.message).toContain('is already open as md127 (/dev/md127)');
    expect(error.hint).toContain(`lsblk ${sys.device}`);
    expect(cryptsetupOpens()).toEqual([]);
  });

  it('opens as before when sysfs lists no holders for the disk, or cannot tell', async () => {
    sys = createFakeSystem(KEY);
    rmSync(join(sys.sysRoot, 'dev'), { recursive: true });
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]));
    expect(await startVolume(deps, fakeConfig(sys))).toBe('unlocked');
  });

  it('asks for the device lock with the volume locks when the device is already there, and hands that lock on', async () => {
    sys = createFakeSystem(KEY);
    const early = { name: 'lock.device.early', lock: { release: async () => {} } };
    const asked: Array<string | undefined> = [];
    let handedOn: unknown;
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]), {
      acquireVolumeLock: async (_config, _deadline, device) => (asked.push(device), { release: async () => {}, device: early }),
      acquireDeviceLock: async (_device, _holder, _deadline, given) => ((handedOn = given), { release: async () => {} }),
    });
    expect(await startVolume(deps, fakeConfig(sys))).toBe('unlocked');
    expect(asked).toEqual([sys.device]);
    expect(handedOn).toBe(early);
  });

  it('asks for no device lock early when the device is not there yet', async () => {
    sys = createFakeSystem(KEY);
    const asked: Array<string | undefined> = [];
    const { deps } = fakeDeps(sys, keysSource([]), { acquireVolumeLock: async (_config, _deadline, device) => (asked.push(device), { release: async () => {} }) });
    expect((await rejection(startVolume(deps, fakeConfig(sys, { device: `${sys.device}-not-yet`, deviceTimeoutSec: 0 })))).kind).toBe('DEVICE_MISSING');
    expect(asked).toEqual([undefined]);
  });

  it('lets go of an early device lock that start never got to use (already mounted)', async () => {
    sys = createFakeSystem(KEY);
    sys.mappings.set('data', sys.device);
    mkdirSync(sys.mountPoint, { recursive: true });
    sys.mounts.set(sys.mountPoint, '/dev/mapper/data');
    let releasedEarly = 0;
    const { deps } = fakeDeps(sys, keysSource([]), {
      acquireVolumeLock: async () => ({ release: async () => {}, device: { name: 'lock.device.early', lock: { release: async () => void (releasedEarly += 1) } } }),
    });
    expect(await startVolume(deps, fakeConfig(sys))).toBe('already-mounted');
    expect(releasedEarly).toBe(1);
  });

  it('a bus that never answers the question about dependents fails start with TIMEOUT at its deadline', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]), { activeDependents: () => new Promise<string[]>(() => {}) });
    const started = Date.now();
    const error = await rejection(startVolume(deps, fakeConfig(sys, { requiredBy: ['app.service'], timeoutSec: 1 })));
    expect(error.kind).toBe('TIMEOUT');
    expect(error.message).toBe("No answer before the deadline: systemd's answer about app.service");
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(cryptsetupOpens()).toEqual([]);
  });

  it('a LUKS check that runs out of time names the time left of TIMEOUT_SEC, not cryptsetup', async () => {
    sys = createFakeSystem(KEY);
    sys.luksDevices.clear();
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]), {
      run: async (file, args, options) => (file === 'cryptsetup' && args[0] === 'isLuks'
        ? { exitCode: -1, stdout: '', stderr: '', timedOut: true }
        : sys.run(file, args, options)),
    });
    const error = await rejection(startVolume(deps, fakeConfig(sys)));
    expect(error.kind).toBe('TIMEOUT');
    expect(error.message).toMatch(new RegExp(`^Failed to check whether ${sys.device.replace(/[/.]/g, '\\$&')} is LUKS: no answer in the \\d+\\.\\d s left of TIMEOUT_SEC=\\d+$`));
  });

  it('releases the run lock even when start fails', async () => {
    sys = createFakeSystem(KEY);
    sys.luksDevices.clear();
    let released = 0;
    const { deps } = fakeDeps(sys, keysSource([]), { acquireVolumeLock: async () => ({ release: async () => void (released += 1) }) });
    await rejection(startVolume(deps, fakeConfig(sys)));
    expect(released).toBe(1);
  });
});
