// start/stop/status through the built CLI, with fake cryptsetup/mount/umount on PATH over a real LUKS2 header.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/index.ts';
import { logLines, runCli, type CliResult } from '../support/cli.ts';
import { canRunCryptsetup, formatLuksImage } from './luks-image.ts';
import { installFakeSystem, type FakeSystem } from './sysbin.ts';
import { createWorkspace, volumeEnv, writeVolumeConfig, type Workspace } from './workspace.ts';

const KEY = Buffer.from('start-stop passphrase with a newline\n');

let emulator: Emulator;
let ws: Workspace;
let sys: FakeSystem;
let device: string;
let mountPoint: string;
let env: Record<string, string>;

const cli = (...args: string[]): Promise<CliResult> => runCli(args, { env });
/** The log messages a start/stop printed (JSON lines on stdout when not on a terminal). */
const messages = (result: CliResult): string[] => logLines(result.stdout).map((line) => String(line.msg));

describe.skipIf(!canRunCryptsetup)('start/stop/status with fake system programs', () => {
  beforeAll(async () => {
    emulator = await startEmulator();
    ws = await createWorkspace('start-stop');
    sys = await installFakeSystem(ws.dir, ws.sysRoot, { flock: true });
    device = join(ws.devRoot, 'disk0');
    mountPoint = join(ws.dir, 'srv', 'data');
    await sys.addDevice(device, await formatLuksImage(join(ws.dir, 'disk0.img'), KEY));
    // Version 1 is an old passphrase: status must name the version that opened the device.
    emulator.putParameter('/luks/data', 'an older passphrase');
    emulator.putParameter('/luks/data', KEY.toString('utf8'));
    await writeVolumeConfig(ws, 'data', {
      LUKS_DEVICE: '/dev/disk0', LUKS_DEVICE_MAP: 'data', LUKS_DEVICE_MOUNT_POINT: mountPoint,
      LUKS_DEVICE_MOUNT_OPT: 'noatime,nodev', SSM_PATH: '/luks/data',
    });
    env = volumeEnv(ws, emulator, { binDir: sys.bin, extra: { LUKS_SSM_MOUNTINFO: sys.mountinfo } });
  });
  afterAll(async () => {
    await emulator?.stop();
    await ws?.cleanup();
  });

  it('start: exit 0, the key went to cryptsetup on stdin only, the volume is mounted', async () => {
    const result = await cli('start', 'data');
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(messages(result)).toEqual([
      `fetched ssm:/luks/data version 2, opening ${device}`,
      `opened ${device} as /dev/mapper/data with ssm:/luks/data version 2`,
      `Created mount point ${mountPoint}`,
      `mounted /dev/mapper/data on ${mountPoint}`,
    ]);
    const calls = await sys.calls();
    // sysfs listed no device-mapper device named data: nobody asked `cryptsetup status` (a process at boot, #13).
    expect(calls.filter((c) => c.args[0] === 'status')).toEqual([]);
    expect(calls.filter((c) => c.args[0] === 'open')).toEqual([
      { program: 'cryptsetup', args: ['open', '--type', 'luks', '--key-file=-', '--', device, 'data'], stdinBytes: KEY.length },
    ]);
    expect(calls.filter((c) => c.program === 'mount')).toEqual([
      { program: 'mount', args: ['--no-canonicalize', '-t', 'ext4', '-o', 'noatime,nodev', '--', '/dev/mapper/data', '/proc/self/fd/3/.'], stdinBytes: 0 },
    ]);
    expect(await sys.mappings()).toEqual(['data']);
    expect((await readdir(join(ws.sysRoot, 'block'))).sort()).toEqual(['dm-0', 'vda']);
    expect((await stat(mountPoint)).mode & 0o7777).toBe(0o700);
    // Children get PATH and LC_ALL only (PWD is the shell's): no AWS_*, HOME or LUKS_SSM_* reaches them.
    expect(await sys.envNames()).toEqual(calls.map(() => ['LC_ALL', 'PATH', 'PWD']));
  });

  it('start: the host lock is taken by the process that becomes cryptsetup open (one spawn, issue #13), and let go', async () => {
    const hostLock = join(ws.runDir, 'lock');
    const [openPid] = await sys.openPids();
    expect(openPid).toBeGreaterThan(0);
    // sh took the lock with flock, then exec'd cryptsetup: flock's parent is the open's own process, not luks-ssm.
    expect((await sys.flockCalls()).filter((c) => c.fd3 === hostLock).map((c) => c.ppid)).toEqual([openPid]);
    expect(execFileSync('flock', ['--nonblock', hostLock, 'true'], { timeout: 5000 }).length).toBe(0);
  });

  it('status --json: open, mounted, and which parameter version unlocked it', async () => {
    const result = await cli('status', '--json', 'data');
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toMatchObject({
      volume: 'data',
      device: '/dev/disk0',
      mapping: { name: 'data', path: '/dev/mapper/data', open: true, device },
      mount: { point: mountPoint, mounted: true, source: '/dev/mapper/data', fsType: 'ext4', options: 'noatime,nodev' },
      unlocked: { volume: 'data', source: 'ssm:/luks/data', version: 2, region: 'us-east-1', unlockedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      active: true,
    });
  });

  it('start again: exit 0, already mounted, cryptsetup open not run again', async () => {
    const opensBefore = (await sys.calls()).filter((c) => c.args[0] === 'open').length;
    const result = await cli('start', 'data');
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(messages(result)).toEqual([`data is already open and mounted at ${mountPoint}, nothing to do`]);
    expect((await sys.calls()).filter((c) => c.args[0] === 'open')).toHaveLength(opensBefore);
  });

  it('stop while a process works in the mount: exit 81 naming its pid, everything left as it was', async () => {
    let holder: ChildProcess | undefined;
    try {
      holder = spawn('sleep', ['30'], { cwd: mountPoint, stdio: 'ignore' });
      await sys.setBusy(true);
      const result = await cli('stop', 'data');
      expect(result.code).toBe(81);
      expect(result.stderr.split('\n')).toEqual([
        expect.stringMatching(new RegExp(`^luks-ssm stop data: ${mountPoint} is busy, held by pid ${holder.pid} \\(sleep \\(sleep 30\\)\\)( in unit \\S+)?; left mounted and open \\(stop those processes \\(or order their units after this volume\\), then stop again\\)$`)),
        '',
      ]);
      expect(await sys.mappings()).toEqual(['data']);
      expect((await cli('status', 'data')).code).toBe(0);
    } finally {
      holder?.kill('SIGKILL');
      await sys.setBusy(false);
    }
  });

  it('stop: exit 0, unmounted and closed, unlock record removed', async () => {
    const result = await cli('stop', 'data');
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(messages(result)).toEqual([`unmounted ${mountPoint}`, 'closed /dev/mapper/data']);
    expect(await sys.mappings()).toEqual([]);
    expect(await readdir(join(ws.sysRoot, 'block'))).toEqual(['vda']);
    expect(await readdir(ws.runDir)).not.toContain('data.json');
  });

  it('status after stop: exit 3, not active', async () => {
    const result = await cli('status', 'data');
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 3, stderr: '' });
    expect(result.stdout.split('\n')).toEqual([
      'volume:     data (not active)',
      `config:     ${join(ws.confDir, 'data.conf')}`,
      'device:     /dev/disk0',
      'mapping:    /dev/mapper/data closed',
      `mount:      ${mountPoint} not mounted`,
      'recovery:   none (luks-ssm recovery-key data adds one)',
      '',
    ]);
  });

  it('stop again: exit 0, nothing to do', async () => {
    const result = await cli('stop', 'data');
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(messages(result)).toEqual(['data is not open, nothing to do']);
  });

  it('start with a parameter whose only version opens no keyslot: exit 80, nothing opened or mounted', async () => {
    emulator.putParameter('/luks/wrong', 'not the passphrase');
    await writeVolumeConfig(ws, 'wrong', {
      LUKS_DEVICE: '/dev/disk0', LUKS_DEVICE_MAP: 'wrong', LUKS_DEVICE_MOUNT_POINT: join(ws.dir, 'srv', 'wrong'), SSM_PATH: '/luks/wrong',
    });
    const result = await cli('start', 'wrong');
    expect(result.code).toBe(80);
    expect(result.stderr).toBe(
      `luks-ssm start wrong: No keyslot of ${device} opens with SSM parameter /luks/wrong (1 version tried) (check SSM_PATH and SSM_PARAMETER_VERSION/LABEL; \`luks-ssm check\` shows which key the parameter holds)\n`,
    );
    expect(await sys.mappings()).toEqual([]);
    expect((await sys.calls()).filter((c) => c.program === 'mount')).toHaveLength(1);
    // No version opened, so a person was asked (nobody answered here): one question, named for the volume.
    const asked = (await sys.calls()).filter((c) => c.program === 'systemd-ask-password');
    expect(asked.map((c) => c.args[0])).toEqual(['--id=luks-ssm:wrong']);
  });

  it('start after a rotation stored a key the device does not know: opens with the earlier version', async () => {
    emulator.putParameter('/luks/data', 'a rotated key never added to the device');
    const result = await cli('start', 'data');
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(messages(result)).toContain(`opened ${device} as /dev/mapper/data with ssm:/luks/data version 2`);
    const status = await cli('status', '--json', 'data');
    expect(JSON.parse(status.stdout)).toMatchObject({ active: true, unlocked: { version: 2 } });
    expect((await cli('stop', 'data')).code).toBe(0);
  });
});
