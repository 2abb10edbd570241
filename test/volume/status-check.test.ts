// status and check on a fake system: told from the dm table and mountinfo; check stops at the first FAIL.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { majorMinor } from '../../src/device/device-number.ts';
import { addDmDevice } from '../support/fake-sysfs.ts';
import { join } from 'node:path';
import { checkVolume, formatCheckReport } from '../../src/volume/check.ts';
import { formatVolumeStatus, readVolumeStatus } from '../../src/volume/status.ts';
import { startVolume } from '../../src/volume/start.ts';
import { UnlockError } from '../../src/errors.ts';
import type { KeySource } from '../../src/secret/source.ts';
import { createFakeClock } from '../aws/fakes.ts';
import { createFakeSystem, fakeConfig, fakeDeps, keysSource, withRestoredCopy, type FakeSystem } from '../support/fake-system.ts';

const KEY = Buffer.from('s3cret value\n');
let sys: FakeSystem;
afterEach(() => sys?.cleanup());

const noDependents = async (config: { requiredBy: string[] }) =>
  config.requiredBy.map((unit) => ({ unit, loadState: 'loaded', activeState: 'inactive', subState: 'dead', orderedAfter: true, requires: true }));

describe('readVolumeStatus', () => {
  it('reports an unlocked volume with the version that opened it and its dependents', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 4 }]));
    const config = fakeConfig(sys, { requiredBy: ['app.service'] });
    await startVolume(deps, config);
    const status = await readVolumeStatus(deps, config, noDependents);
    expect(status).toMatchObject({
      active: true,
      mapping: { open: true, path: '/dev/mapper/data', device: sys.device },
      mount: { mounted: true, fsType: 'ext4' },
      unlocked: { version: 4, source: 'ssm:/test/key' },
      dependents: [{ unit: 'app.service', orderedAfter: true }],
    });
    const text = formatVolumeStatus(status);
    expect(text).toContain('unlocked and mounted');
    expect(text).toContain('with ssm:/test/key version 4');
    expect(JSON.stringify(status)).not.toContain('s3cret');
  });

  it('is not active when the mapping is open but nothing is mounted, and says so', async () => {
    sys = createFakeSystem(KEY);
    sys.mappings.set('data', sys.device);
    const { deps } = fakeDeps(sys, keysSource([]));
    const status = await readVolumeStatus(deps, fakeConfig(sys), noDependents);
    expect([status.active, status.mapping.open, status.mount.mounted]).toEqual([false, true, false]);
    expect(formatVolumeStatus(status).split('\n')[0]).toBe('volume:     data (open but not mounted: luks-ssm start data mounts it)');
  });

  it('does not promise start will mount when another filesystem is at the mount point (start refuses that, 82)', async () => {
    sys = createFakeSystem(KEY);
    sys.mappings.set('data', sys.device);
    mkdirSync(sys.mountPoint, { recursive: true });
    sys.mounts.set(sys.mountPoint, '/dev/vdb1');
    const { deps } = fakeDeps(sys, keysSource([]));
    const text = formatVolumeStatus(await readVolumeStatus(deps, fakeConfig(sys), noDependents));
    expect(text.split('\n')[0]).toBe('volume:     data (not active)');
    expect(text).toContain(`mount:      ${sys.mountPoint} has /dev/vdb1 mounted (not this volume)`);
  });

  it('shows a foreign mount\'s source and options with control characters escaped (fusermount lets a user pick fsname)', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([]));
    const status = await readVolumeStatus(deps, fakeConfig(sys), noDependents);
    status.mount = { ...status.mount, mounted: false, source: 'evil\x1b[2J\nmount:      fake', fsType: 'fuse', options: 'rw' };
    const text = formatVolumeStatus(status);
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    expect(text).toContain('has evil\\x1b[2J\\x0amount:      fake mounted');
  });
});

describe('formatCheckReport', () => {
  it('shows control characters in a step\'s detail and fix escaped, one line each', () => {
    const text = formatCheckReport({ steps: [{ name: 'imds', ok: true, detail: 'got \x1b[2J\nok   fake', hint: 'x\ry' }], failure: undefined });
    expect(text).toBe('ok    imds     got \\x1b[2J\\x0aok   fake\n      fix: x\\x0dy\n');
  });
});

describe('checkVolume', () => {
  it('passes every step when the key opens a keyslot, changing nothing', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 2 }]));
    const report = await checkVolume(deps, fakeConfig(sys));
    expect(report.failure).toBeUndefined();
    expect(report.steps.map((s) => [s.name, s.ok])).toEqual([['config', true], ['device', true], ['luks', true], ['mount', true], ['key', true], ['keyslot', true], ['recovery', true]]);
    expect(sys.mappings.size + sys.mounts.size).toBe(0);
    expect(sys.calls.find((c) => c.args[0] === 'open')?.args).toContain('--test-passphrase');
    expect(formatCheckReport(report)).toMatch(/^ok {4}key +ssm:\/test\/key version 2 \(us-east-1\): 13 bytes, opens key slot 0 of /m);
  });

  it('stops at the first failure and prints the fix', async () => {
    sys = createFakeSystem(Buffer.from('another key'));
    // Not KEY: it ends in a line break, which gets a fix line of its own (test/cli/check.integ.test.ts).
    const { deps } = fakeDeps(sys, keysSource([{ bytes: Buffer.from('a wrong key'), version: 2 }]));
    const report = await checkVolume(deps, fakeConfig(sys));
    expect(report.failure?.exitCode).toBe(80);
    const text = formatCheckReport(report);
    expect(text).toContain('FAIL  key');
    expect(text).toContain('fix: the parameter holds a different passphrase');
  });

  it('fails the config step with 78 when another config has its mapping or mount point, and stops there', async () => {
    sys = createFakeSystem(KEY);
    const shared = [{ key: 'LUKS_DEVICE_MAP' as const, value: 'data', volume: 'logs', file: '/etc/luks-ssm/logs.conf' }];
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 2 }]), { sharedSettings: async () => shared });
    const report = await checkVolume(deps, fakeConfig(sys));
    expect(report.failure?.exitCode).toBe(78);
    expect(report.steps.map((s) => [s.name, s.ok])).toEqual([['config', false]]);
    expect(formatCheckReport(report)).toMatch(/^FAIL +config +LUKS_DEVICE_MAP=data is also volume 'logs''s \(\/etc\/luks-ssm\/logs.conf\)/m);
    expect(sys.calls).toEqual([]);
  });

  it('warns at the config step when another config names its SSM parameter (it boots; enroll and rotate refuse it)', async () => {
    sys = createFakeSystem(KEY);
    const shared = [{ key: 'SSM_PATH' as const, value: '/test/key', volume: 'logs', file: '/etc/luks-ssm/logs.conf' }];
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 2 }]), { sharedSettings: async () => shared });
    const report = await checkVolume(deps, fakeConfig(sys));
    expect(report.failure).toBeUndefined();
    expect(report.steps[0]).toMatchObject({ name: 'config', ok: true, warn: true });
    expect(formatCheckReport(report)).toMatch(/^warn {2}config .*SSM_PATH=\/test\/key is also the parameter of 'logs' \(\/etc\/luks-ssm\/logs.conf\): rotate and enroll refuse it/m);
  });

  it('fails the mount step with 82 as start would, before any AWS call: entries there, a symlink on the path, another mount', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 2 }]));
    mkdirSync(sys.mountPoint, { recursive: true });
    writeFileSync(join(sys.mountPoint, 'from-the-ami'), '');
    const full = await checkVolume(deps, fakeConfig(sys));
    expect(full.failure?.exitCode).toBe(82);
    expect(full.steps.map((s) => [s.name, s.ok])).toEqual([['config', true], ['device', true], ['luks', true], ['mount', false]]);
    expect(formatCheckReport(full)).toMatch(/^FAIL +mount +.*\/srv\/data is not empty \(1 entry\)/m);
    rmSync(join(sys.mountPoint, 'from-the-ami'));
    sys.mounts.set(sys.mountPoint, '/dev/sdz1');
    expect((await checkVolume(deps, fakeConfig(sys))).failure?.message).toBe(`${sys.mountPoint} already has /dev/sdz1 mounted on it, refusing`);
    sys.mounts.clear();
    const linked = join(sys.dir, 'linked');
    symlinkSync(join(sys.dir, 'srv'), linked);
    const walk = await checkVolume(deps, fakeConfig(sys, { mountPoint: join(linked, 'data') }));
    expect(walk.failure?.exitCode).toBe(82);
    expect(walk.failure?.message).toContain('is a symlink');
    expect(sys.calls.filter((c) => c.args[0] === 'open')).toEqual([]);
  });

  it('says the volume is mounted there when it is (its entries are its own)', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 2 }]));
    await startVolume(deps, fakeConfig(sys));
    mkdirSync(sys.mountPoint, { recursive: true });
    writeFileSync(join(sys.mountPoint, 'data-file'), '');
    const report = await checkVolume(deps, fakeConfig(sys));
    expect(report.steps.find((s) => s.name === 'mount')).toMatchObject({ ok: true, detail: `${sys.mountPoint}: this volume is mounted there` });
  });

  it('fails the device step with 89 when a second disk carries the UUID LUKS_DEVICE names (a restored snapshot), as start would', async () => {
    sys = createFakeSystem(KEY);
    const uuid = '5f2c0c4e-7d4b-4b8e-9a57-1d2f3e4a5b6c';
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 2 }]), withRestoredCopy(sys, uuid));
    const report = await checkVolume(deps, fakeConfig(sys, { device: `UUID=${uuid}` }));
    expect(report.failure?.exitCode).toBe(89);
    expect(formatCheckReport(report)).toMatch(/FAIL +device/);
  });

  it('warns at the device step when the disk is open under another name, and still tests the key; its own mapping is fine', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 2 }]));
    sys.mappings.set('byhand', sys.device);
    const warned = await checkVolume(deps, fakeConfig(sys));
    expect(warned.failure).toBeUndefined();
    expect(warned.steps.find((s) => s.name === 'device')).toMatchObject({ ok: true, warn: true });
    expect(formatCheckReport(warned)).toMatch(/^warn {2}device .*open as byhand \(\/dev\/mapper\/byhand\) now: start refuses it \(exit 88\)/m);
    expect(warned.steps.find((s) => s.name === 'key')).toMatchObject({ ok: true });
    sys.mappings.clear();
    sys.mappings.set('data', sys.device);
    expect((await checkVolume(deps, fakeConfig(sys))).steps.find((s) => s.name === 'device')?.warn).toBeUndefined();
  });

  it('takes a LUKS2 integrity volume\'s own mapping, stacked on its data_dif, as its own', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 2 }]));
    const dif = addDmDevice(sys.sysRoot, 'data_dif', 'CRYPT-SUBDEV-data_dif', majorMinor(statSync(sys.device).rdev));
    addDmDevice(sys.sysRoot, 'data', undefined, dif);
    const report = await checkVolume(deps, fakeConfig(sys));
    expect(report.steps.find((s) => s.name === 'device')?.warn).toBeUndefined();
    expect(report.failure).toBeUndefined();
  });

  it('warns when /etc/crypttab has a line for the same disk (by any /dev name), and says so when its lines name others', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 2 }]), { devRoot: join(sys.dir, 'dev') });
    mkdirSync(join(sys.dir, 'dev', 'by-name'));
    symlinkSync(sys.device, join(sys.dir, 'dev', 'by-name', 'disk'));
    writeFileSync(deps.crypttabPath!, '# a comment\nhome /dev/absent-disk none luks\nold-data /dev/by-name/disk none luks\n');
    const warned = await checkVolume(deps, fakeConfig(sys));
    expect(warned.failure).toBeUndefined();
    const step = warned.steps.find((s) => s.name === 'crypttab');
    expect(step).toMatchObject({ ok: true, warn: true });
    expect(step?.detail).toContain(`crypttab:3 names ${sys.device} too (/dev/by-name/disk): at boot systemd opens it`);
    expect(step?.detail).toContain('as old-data: luks-ssm then refuses the disk (exit 88)');
    expect(step?.hint).toContain('remove line 3 of');
    expect(formatCheckReport(warned)).toMatch(/^warn {2}crypttab /m);

    // Its own mapping name: start would then only mount what systemd opened.
    writeFileSync(deps.crypttabPath!, 'data /dev/by-name/disk none luks,noauto\n');
    const own = (await checkVolume(deps, fakeConfig(sys))).steps.find((s) => s.name === 'crypttab');
    expect(own?.detail).toContain('noauto: not opened by cryptsetup.target, but at boot all the same if anything needs /dev/mapper/data');
    expect(own?.detail).toContain('as data, this volume\'s own mapping: luks-ssm then only mounts what it did not unlock');

    // Lines for other disks, a spec luks-ssm does not take, and a path outside /dev (never stat'ed: it could hang).
    writeFileSync(deps.crypttabPath!, `home /dev/absent-disk none luks\nbad UUID=has/slash none\nimage ${sys.device} none luks\n`);
    const clean = await checkVolume(deps, fakeConfig(sys));
    expect(clean.steps.find((s) => s.name === 'crypttab')).toMatchObject({ ok: true, detail: `no line of ${deps.crypttabPath} names ${sys.device}` });
    expect(clean.steps.find((s) => s.name === 'crypttab')?.warn).toBeUndefined();
  });

  it('reports a missing device without asking AWS', async () => {
    sys = createFakeSystem(KEY);
    let asked = false;
    const source: KeySource = { description: 'x', async *keys() { asked = true; } };
    const { deps } = fakeDeps(sys, source);
    const report = await checkVolume(deps, fakeConfig(sys, { device: `${sys.dir}/dev/absent`, deviceTimeoutSec: 1 }));
    expect(report.failure).toBeInstanceOf(UnlockError);
    expect(report.failure?.kind).toBe('DEVICE_MISSING');
    expect(report.steps.map((s) => s.ok)).toEqual([true, false]);
    expect(asked).toBe(false);
  });

  // Review 8, finding 8: no region or credentials was reported as `FAIL kms-key`, the first step to call AWS.
  it('judges AWS set-up in an aws step after the local ones and before any AWS step, which it stops on failure', async () => {
    sys = createFakeSystem(KEY);
    const asked: string[] = [];
    const source: KeySource = { description: 'x', async *keys() { asked.push('key'); } };
    const noRegion = new UnlockError('AWS_UNAVAILABLE', 'No AWS region: set SSM_REGION in data.conf, or AWS_REGION, or run on EC2 with IMDS reachable (…)');
    const { deps } = fakeDeps(sys, source, {
      awsAccess: async () => { throw noRegion; },
      kmsKeyState: async () => { asked.push('kms-key'); return 'KMS key k is enabled'; },
    });
    const report = await checkVolume(deps, fakeConfig(sys));
    expect(report.steps.map((s) => [s.name, s.ok])).toEqual([['config', true], ['device', true], ['luks', true], ['mount', true], ['aws', false]]);
    expect(report.failure).toBe(noRegion);
    expect(asked).toEqual([]);

    const { deps: good } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]), {
      awsAccess: async () => 'region us-east-1 (SSM_REGION), credentials from the instance profile, SSM and KMS at their regional endpoints',
      kmsKeyState: async () => 'KMS key k is enabled',
    });
    const passed = await checkVolume(good, fakeConfig(sys));
    expect(passed.failure).toBeUndefined();
    expect(passed.steps.map((s) => s.name)).toEqual(['config', 'device', 'luks', 'mount', 'aws', 'kms-key', 'key', 'keyslot', 'recovery']);
  });

  it('tests the key under the device lock and the host lock (argon2 slots take GiBs each), timing cryptsetup only, and holds neither otherwise', async () => {
    sys = createFakeSystem(KEY);
    const events: string[] = [];
    const clock = createFakeClock();
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]), {
      clock,
      run: async (file, args, options) => {
        if (file === 'cryptsetup') events.push(`cryptsetup ${args[0]}${args.includes('--test-passphrase') ? ' --test-passphrase' : ''}`);
        return sys.run(file, args, options);
      },
      acquireLock: async () => {
        events.push('host lock');
        clock.advance(7000); // waited behind another volume's argon2
        return { release: async () => void events.push('host release') };
      },
      acquireDeviceLock: async (device, holder) => {
        events.push(`device lock ${device} for ${holder}`);
        return { release: async () => void events.push('device release') };
      },
    });
    const report = await checkVolume(deps, fakeConfig(sys));
    expect(report.failure).toBeUndefined();
    // Not across the AWS step: a check in AWS retries must not hold a stop or start of this disk for TIMEOUT_SEC.
    expect(events).toEqual([
      'cryptsetup isLuks',
      `device lock ${sys.device} for data`,
      'host lock', 'cryptsetup open --test-passphrase', 'host release',
      'device release',
      'cryptsetup luksDump',
      'cryptsetup luksDump',
    ]);
    expect(report.steps.find((s) => s.name === 'keyslot')?.detail).toContain('test-passphrase took 0.00 s');
  });

  it('works on an image file as the device', async () => {
    sys = createFakeSystem(KEY);
    const image = `${sys.dir}/disk.img`;
    writeFileSync(image, Buffer.alloc(4096));
    sys.luksDevices.add(image);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]));
    const report = await checkVolume(deps, fakeConfig(sys, { device: image }));
    expect(report.failure).toBeUndefined();
  });
});
