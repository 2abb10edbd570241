// stop: unmount then close, never forced; a busy mount names its holders and changes nothing.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stopVolume } from '../../src/volume/stop.ts';
import { startVolume } from '../../src/volume/start.ts';
import { UnlockError } from '../../src/errors.ts';
import { readUnlockRecord } from '../../src/volume/unlock-record.ts';
import { createFakeSystem, fakeConfig, fakeDeps, keysSource, type FakeSystem } from '../support/fake-system.ts';

const KEY = Buffer.from('k3y');
let sys: FakeSystem;
afterEach(() => sys?.cleanup());

describe('stopVolume', () => {
  it('unmounts, closes and forgets the unlock record; a second stop is a no-op', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 3 }]));
    await startVolume(deps, fakeConfig(sys));
    expect(await stopVolume(deps, fakeConfig(sys))).toBe('closed');
    expect(sys.mounts.size + sys.mappings.size).toBe(0);
    expect(await readUnlockRecord(deps.runDir, 'data')).toBeUndefined();
    const umounts = sys.calls.filter((c) => c.file === 'umount').map((c) => c.args);
    expect(umounts).toEqual([['--no-canonicalize', '--', '/proc/self/fd/3/data']]);
    expect(await stopVolume(deps, fakeConfig(sys))).toBe('already-closed');
  });

  it('refuses (82) a mapping of its name open on another disk, mounted or not, and touches nothing (review 13)', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 3 }]));
    const config = fakeConfig(sys);
    // Someone else's mapping of that name (a crypttab line, a hand cryptsetup open) on another disk, mounted elsewhere.
    sys.mappings.set(config.mapName, '/dev/other-disk');
    const elsewhere = join(sys.dir, 'srv-other');
    mkdirSync(elsewhere);
    sys.mounts.set(elsewhere, `/dev/mapper/${config.mapName}`);
    const error = (await stopVolume(deps, config).catch((e: unknown) => e)) as UnlockError;
    expect(error).toMatchObject({ exitCode: 82, message: expect.stringContaining(`/dev/mapper/data is open on /dev/other-disk, not on the configured ${sys.device}`) });
    expect(sys.mounts.get(elsewhere)).toBe('/dev/mapper/data');
    expect(sys.mappings.get('data')).toBe('/dev/other-disk');
    expect(sys.calls.filter((c) => c.file === 'umount' || (c.file === 'cryptsetup' && c.args[0] === 'close'))).toEqual([]);
    // Start refuses it too, also when it is mounted at the configured mount point (no "already mounted").
    sys.mounts.set(sys.mountPoint, `/dev/mapper/${config.mapName}`);
    await expect(startVolume(deps, config)).rejects.toMatchObject({ exitCode: 82, message: expect.stringContaining('is open on /dev/other-disk') });
    await expect(stopVolume(deps, config)).rejects.toMatchObject({ exitCode: 82 });
    expect(sys.mappings.get('data')).toBe('/dev/other-disk');
  });

  it('knows its own mapping by device number: under a dm disk\'s other name, and when its disk is gone ("(null)", review 14)', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 3 }]));
    await startVolume(deps, fakeConfig(sys));
    // cryptsetup names a device-mapper disk /dev/mapper/vg0-data where its realpath is /dev/dm-3: one device, two names.
    const otherName = join(sys.dir, 'mapper-vg0-data');
    symlinkSync(sys.device, otherName);
    sys.mappings.set('data', otherName);
    expect(await startVolume(deps, fakeConfig(sys))).toBe('already-mounted');
    expect(await stopVolume(deps, fakeConfig(sys))).toBe('closed');
    await startVolume(deps, fakeConfig(sys));
    sys.mappings.set('data', '(null)');
    expect(await stopVolume(deps, fakeConfig(sys))).toBe('closed');
    expect(sys.mounts.size + sys.mappings.size).toBe(0);
  });

  it('closes the mapping its start opened after LUKS_DEVICE was edited to another disk (the unlock record says whose it is)', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 3 }]));
    await startVolume(deps, fakeConfig(sys));
    expect(await stopVolume(deps, fakeConfig(sys, { device: join(sys.dir, 'dev', 'disk-new') }))).toBe('closed');
    expect(sys.mounts.size + sys.mappings.size).toBe(0);
  });

  it('closes after LUKS_DEVICE was edited when its start only mounted a mapping already open (the record says whose it is)', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 3 }]));
    sys.mappings.set('data', sys.device);
    expect(await startVolume(deps, fakeConfig(sys))).toBe('mounted-open-volume');
    expect(await stopVolume(deps, fakeConfig(sys, { device: join(sys.dir, 'dev', 'disk-new') }))).toBe('closed');
    expect(sys.mounts.size + sys.mappings.size).toBe(0);
  });

  it('refuses (78) once LUKS_DEVICE_MAP was edited while open: the mapping its start opened stays open, and so does the record', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 3 }]));
    await startVolume(deps, fakeConfig(sys));
    const error = (await stopVolume(deps, fakeConfig(sys, { mapName: 'data2' })).catch((e: unknown) => e)) as UnlockError;
    expect(error).toBeInstanceOf(UnlockError);
    expect(error.exitCode).toBe(78);
    expect(error.message).toContain('/dev/mapper/data, which this volume\'s start opened, is still open');
    expect(error.hint).toBe('set LUKS_DEVICE_MAP=data again and stop data, then make the change');
    expect(await readUnlockRecord(deps.runDir, 'data')).toMatchObject({ mapName: 'data' });
    expect([...sys.mappings.keys()]).toEqual(['data']);
    expect(await stopVolume(deps, fakeConfig(sys))).toBe('closed');
    expect(await stopVolume(deps, fakeConfig(sys, { mapName: 'data2' }))).toBe('already-closed');
  });

  it('takes a record as stale when the mapping it names is open on another disk now: not this start\'s, nothing refused', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 3 }]));
    await startVolume(deps, fakeConfig(sys));
    sys.mounts.clear();
    const other = createFakeSystem(KEY);
    try {
      sys.mappings.set('data', other.device);
      expect(await stopVolume(deps, fakeConfig(sys, { mapName: 'data2' }))).toBe('already-closed');
      expect([...sys.mappings.keys()]).toEqual(['data']);
    } finally {
      other.cleanup();
    }
  });

  it('refuses (81) before unmounting anything while another mount namespace has the volume mounted (a user\'s unshare -Urm)', async () => {
    sys = createFakeSystem(KEY);
    // A /proc with our namespace and a user's private one that has a copy of the volume's mount (253:0 in the fake).
    const proc = join(sys.dir, 'proc');
    for (const [pid, ns, comm] of [['self', '100', 'luks-ssm'], ['4242', '200', 'sleep']] as const) {
      mkdirSync(join(proc, pid, 'ns'), { recursive: true });
      symlinkSync(`mnt:[${ns}]`, join(proc, pid, 'ns', 'mnt'));
      writeFileSync(join(proc, pid, 'mountinfo'), `22 1 252:1 / / rw - ext4 /dev/vda1 rw\n41 22 253:0 / ${sys.mountPoint} rw - ext4 /dev/mapper/data rw\n`);
      writeFileSync(join(proc, pid, 'comm'), `${comm}\n`);
    }
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 3 }]), { procRoot: proc, unitOfPid: async () => 'session-7.scope' });
    await startVolume(deps, fakeConfig(sys));
    const error = (await stopVolume(deps, fakeConfig(sys)).catch((e: unknown) => e)) as UnlockError;
    expect(error).toBeInstanceOf(UnlockError);
    expect(error.exitCode).toBe(81);
    expect(error.message).toBe(`/dev/mapper/data is mounted in another mount namespace too: pid 4242 (sleep) in unit session-7.scope has it on ${sys.mountPoint}; our unmount would not reach it, left mounted and open`);
    expect(error.hint).toBe(`end that process, or unmount it there (nsenter -t 4242 -m umount ${sys.mountPoint}), then stop again`);
    expect(sys.calls.filter((c) => c.file === 'umount' || c.args[0] === 'close')).toEqual([]);
    rmSync(join(proc, '4242'), { recursive: true });
    expect(await stopVolume(deps, fakeConfig(sys))).toBe('closed');
  });

  it('when busy: names each holder and its unit, exits BUSY (81), leaves it mounted and open', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 3 }]), {
      unitOfPid: async () => 'session-4.scope',
    });
    await startVolume(deps, fakeConfig(sys));
    sys.busy.add(sys.mountPoint);
    mkdirSync(sys.mountPoint, { recursive: true });
    const holder = spawn('sleep', ['30'], { cwd: sys.mountPoint, stdio: 'ignore' });
    try {
      const error = (await stopVolume(deps, fakeConfig(sys)).catch((e: unknown) => e)) as UnlockError;
      expect(error).toBeInstanceOf(UnlockError);
      expect(error.exitCode).toBe(81);
      expect(error.message).toContain(`pid ${holder.pid} (sleep`);
      expect(error.message).toContain('in unit session-4.scope');
      expect(sys.mounts.get(sys.mountPoint)).toBe('/dev/mapper/data');
      expect(sys.mappings.has('data')).toBe(true);
      expect(sys.calls.some((c) => c.file === 'cryptsetup' && c.args[0] === 'close')).toBe(false);
      expect(sys.calls.filter((c) => c.file === 'umount').every((c) => !c.args.some((a) => /^-[a-zA-Z]*[lf]/.test(a)))).toBe(true);
    } finally {
      holder.kill();
    }
  });

  it('when busy and a process cannot be read in time: names what it found, says the list may be cut, still BUSY (review 9)', async () => {
    sys = createFakeSystem(KEY);
    const procRoot = join(sys.dir, 'proc');
    for (const [pid, comm] of [[10, 'bash'], [20, 'staller']] as const) {
      mkdirSync(join(procRoot, String(pid), 'fd'), { recursive: true });
      writeFileSync(join(procRoot, String(pid), 'comm'), `${comm}\n`);
      symlinkSync(sys.mountPoint, join(procRoot, String(pid), 'cwd'));
    }
    writeFileSync(join(procRoot, '10', 'cmdline'), '');
    const fifo = join(procRoot, '20', 'cmdline');
    execFileSync('mkfifo', [fifo]);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 3 }]), { procRoot });
    await startVolume(deps, fakeConfig(sys));
    sys.busy.add(sys.mountPoint);
    try {
      const error = (await stopVolume(deps, fakeConfig(sys)).catch((e: unknown) => e)) as UnlockError;
      expect([error.exitCode, error.message]).toEqual([
        81,
        `${sys.mountPoint} is busy, held by pid 10 (bash) and maybe others (the scan of processes stopped after 5 s: fuser -vm ${sys.mountPoint} lists them all); left mounted and open`,
      ]);
      expect(sys.mappings.has('data')).toBe(true);
    } finally {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    }
  }, 20_000);

  it('leaves a foreign filesystem at the mount point alone', async () => {
    sys = createFakeSystem(KEY);
    mkdirSync(sys.mountPoint, { recursive: true });
    sys.mounts.set(sys.mountPoint, '/dev/vdb1');
    const { deps, log } = fakeDeps(sys, keysSource([]));
    expect(await stopVolume(deps, fakeConfig(sys))).toBe('already-closed');
    expect(sys.mounts.get(sys.mountPoint)).toBe('/dev/vdb1');
    expect(log.lines.some((l) => l.level === 'warn' && l.msg?.includes('leaving it alone'))).toBe(true);
  });

  it('unmounts the mapping from a second place before closing it', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]));
    await startVolume(deps, fakeConfig(sys));
    sys.mounts.set('/mnt/copy', '/dev/mapper/data');
    expect(await stopVolume(deps, fakeConfig(sys))).toBe('closed');
    expect(sys.mounts.size).toBe(0);
  });
});
