// Every failure a user can meet before a device is touched: the exit code and the one line that explains it.
import { copyFile, mkdir, readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/index.ts';
import { plainLines, runCli, type CliResult } from '../support/cli.ts';
import { canRunCryptsetup, formatLuksImage, zeroImage } from './luks-image.ts';
import { createWorkspace, volumeEnv, writeVolumeConfig, type EnvOptions, type Workspace } from './workspace.ts';

const LUKS_MOUNT_DEFAULT = fileURLToPath(new URL('../fixtures/luks-mount.default', import.meta.url));
const KEY = Buffer.from('errors-integ passphrase\n');
/** The smallest TIMEOUT_SEC the config accepts; runs that wait for it may take this long plus start-up. */
const DEADLINE_SEC = 5;
const SLACK_MS = 3_000;
/** nobody(65534) on Debian and RHEL alike. */
const NOBODY = 65_534;

let emulator: Emulator;
let ws: Workspace;
let devDir: string;

/** A valid volume on the LUKS image /dev/disk0, with `over` on top. */
function volume(name: string, over: Record<string, string> = {}): Promise<string> {
  return writeVolumeConfig(ws, name, {
    LUKS_DEVICE: '/dev/disk0', LUKS_DEVICE_MAP: name, LUKS_DEVICE_MOUNT_POINT: `/srv/${name}`, SSM_PATH: '/luks/disk0', ...over,
  });
}

function check(name: string, opts: EnvOptions = {}, on: Emulator = emulator): Promise<CliResult> {
  return runCli(['check', name], { env: volumeEnv(ws, on, opts) });
}

/** What check printed before the failing step, for a config at `file`. */
const okUntilKey = (file: string): string[] => [
  `ok    config   ${file}`,
  `ok    device   /dev/disk0 -> ${join(devDir, 'disk0')}`,
  'ok    luks     LUKS header found',
];

describe.skipIf(!canRunCryptsetup)('CLI errors (built CLI, emulator, real cryptsetup)', () => {
  beforeAll(async () => {
    emulator = await startEmulator();
    ws = await createWorkspace('errors');
    devDir = await realpath(ws.devRoot);
    await formatLuksImage(join(ws.devRoot, 'disk0'), KEY);
    emulator.putParameter('/luks/disk0', KEY.toString('utf8'));
  });
  afterEach(() => emulator.faults.reset());
  afterAll(async () => {
    await emulator?.stop();
    await ws?.cleanup();
  });

  describe('usage (2)', () => {
    it.each([
      [[], 'luks-ssm: no verb given (see luks-ssm --help)'],
      [['frobnicate', 'data'], "luks-ssm: unknown verb 'frobnicate' (see luks-ssm --help)"],
      [['check'], 'luks-ssm: check takes exactly one volume name, got 0 (see luks-ssm --help)'],
      [['check', 'a', 'b'], 'luks-ssm: check takes exactly one volume name, got 2 (see luks-ssm --help)'],
      [['check', '--json', 'data'], 'luks-ssm: --json goes with status (see luks-ssm --help)'],
      [['check', '--bogus', 'data'], /^luks-ssm: Unknown option '--bogus'\. .* \(see luks-ssm --help\)$/],
    ])('%j', async (args, line) => {
      const result = await runCli(args, { env: volumeEnv(ws, emulator) });
      expect(result).toMatchObject({ code: 2, stdout: '' });
      expect(result.stderr.split('\n')).toEqual([typeof line === 'string' ? line : expect.stringMatching(line), '']);
    });
  });

  it('start as a user other than root: 4, with the sudo that fixes it', async (ctx) => {
    // Node and the build must be reachable by nobody (a checkout under /root is not): otherwise skip, not fail.
    const probe = await runCli(['--version'], { env: volumeEnv(ws, emulator), uid: NOBODY }).catch(() => undefined);
    if (probe?.code !== 0) ctx.skip('nobody cannot run node or the build from here');
    const result = await runCli(['start', 'data'], { env: volumeEnv(ws, emulator), uid: NOBODY });
    expect(result).toMatchObject({
      code: 4,
      stderr: 'luks-ssm start data: start needs root (cryptsetup, mount and systemd do) (run: sudo luks-ssm start data)\n',
    });
  });

  describe('config', () => {
    it('no config file for the volume: 6, naming the file and the sample', async () => {
      const result = await check('nosuch');
      expect(result).toMatchObject({
        code: 6,
        stderr: `luks-ssm check nosuch: ${ws.confDir}/nosuch.conf: no such config file for volume 'nosuch' (create it from /etc/luks-ssm/example.conf.sample)\n`,
      });
    });

    it('--config naming a missing file: 6', async () => {
      const missing = join(ws.dir, 'missing.conf');
      const result = await runCli(['check', '--config', missing, 'data'], { env: volumeEnv(ws, emulator) });
      expect(result).toMatchObject({ code: 6, stderr: `luks-ssm check data: ${missing}: no such config file for volume 'data' (check the --config path)\n` });
    });

    it('an unknown key: 78, naming file:line with a did-you-mean', async () => {
      const file = await writeVolumeConfig(ws, 'typo', { LUKS_DEVICE: '/dev/disk0', LUKS_DEVICE_MAP: 'typo', SSM_PAHT: '/luks/disk0' });
      const result = await check('typo');
      expect(result).toMatchObject({ code: 78, stderr: `luks-ssm check typo: ${file}:4: unknown key 'SSM_PAHT', did you mean 'SSM_PATH'?\n` });
    });

    it('a config file others can write: 78, with the chmod that fixes it', async () => {
      const file = await writeVolumeConfig(ws, 'loose', { LUKS_DEVICE: '/dev/disk0' }, 0o666);
      const result = await check('loose');
      expect(result).toMatchObject({ code: 78, stderr: `luks-ssm check loose: ${file}: writable by group/others (mode 0666), refusing; run: chmod go-w ${file}\n` });
    });
  });

  describe('device', () => {
    it('not LUKS: 65, and nothing is formatted', async () => {
      const image = await zeroImage(join(ws.devRoot, 'blank'));
      const file = await volume('blank', { LUKS_DEVICE: '/dev/blank' });
      const result = await check('blank');
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 65, stderr: '' });
      expect(plainLines(result.stdout)).toEqual([
        `ok    config   ${file}`,
        `ok    device   /dev/blank -> ${join(devDir, 'blank')}`,
        `FAIL  luks     ${join(devDir, 'blank')} is not a LUKS volume`,
        '      fix: check LUKS_DEVICE; luks-ssm never formats a device',
      ]);
      expect((await readFile(image)).equals(Buffer.alloc(4 * 1024 * 1024))).toBe(true);
    });

    it('a device that never appears: 66 after DEVICE_TIMEOUT_SEC', async () => {
      const file = await volume('absent', { LUKS_DEVICE: '/dev/absent', DEVICE_TIMEOUT_SEC: '1' });
      const result = await check('absent');
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 66, stderr: '' });
      expect(plainLines(result.stdout)).toEqual([
        `ok    config   ${file}`,
        'FAIL  device   Device /dev/absent did not appear within 1 s',
        '      fix: check the volume is attached to this instance (aws ec2 describe-volumes) and run lsblk',
      ]);
      expect(result.elapsedMs).toBeGreaterThanOrEqual(1_000);
      expect(result.elapsedMs).toBeLessThan(1_000 + SLACK_MS);
    });
  });

  describe('the shell-script design\'s /etc/default/luks-mount, unchanged', () => {
    let etc: string;
    beforeAll(async () => {
      // A byte-for-byte copy in a root-only directory: config files refuse directories others can write.
      etc = join(ws.dir, 'etc-default');
      await mkdir(etc, { mode: 0o700 });
      await copyFile(LUKS_MOUNT_DEFAULT, join(etc, 'luks-mount'));
      expect(await readFile(join(etc, 'luks-mount'))).toEqual(await readFile(LUKS_MOUNT_DEFAULT));
    });

    it('as --config: accepted, then FAIL device /dev/nvme1n1 (66)', async () => {
      const fast = await writeVolumeConfig(ws, 'fast-device-timeout', { DEVICE_TIMEOUT_SEC: '1' });
      const env = { ...volumeEnv(ws, emulator), LUKS_SSM_DEFAULTS: fast };
      const result = await runCli(['check', '--config', join(etc, 'luks-mount'), 'data'], { env });
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 66, stderr: '' });
      expect(plainLines(result.stdout)).toEqual([
        `ok    config   ${fast}, ${join(etc, 'luks-mount')}`,
        'FAIL  device   Device /dev/nvme1n1 did not appear within 1 s',
        '      fix: check the volume is attached to this instance (aws ec2 describe-volumes) and run lsblk',
      ]);
    });

    it('as LUKS_SSM_DEFAULTS under a one-line volume file: accepted, then FAIL device (66)', async () => {
      const own = await writeVolumeConfig(ws, 'data', { DEVICE_TIMEOUT_SEC: '1' });
      const env = { ...volumeEnv(ws, emulator), LUKS_SSM_DEFAULTS: join(etc, 'luks-mount') };
      const result = await runCli(['check', 'data'], { env });
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 66, stderr: '' });
      expect(plainLines(result.stdout)).toEqual([
        `ok    config   ${join(etc, 'luks-mount')}, ${own}`,
        'FAIL  device   Device /dev/nvme1n1 did not appear within 1 s',
        '      fix: check the volume is attached to this instance (aws ec2 describe-volumes) and run lsblk',
      ]);
    });
  });

  describe('AWS', () => {
    it('parameter not found: 67', async () => {
      const file = await volume('notfound', { SSM_PATH: '/luks/nope' });
      const result = await check('notfound');
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 67, stderr: '' });
      expect(plainLines(result.stdout)).toEqual([
        ...okUntilKey(file),
        'FAIL  key      SSM parameter /luks/nope not found in us-east-1',
        '      fix: check SSM_PATH and SSM_REGION (names are case-sensitive), or create it: aws ssm put-parameter --type SecureString --name /luks/nope --value …',
      ]);
    });

    it('ssm:GetParameter denied: 77, naming the action and the parameter ARN', async () => {
      const file = await volume('denied');
      emulator.faults.set({ denyActions: ['ssm:GetParameter'] });
      const result = await check('denied');
      const arn = `arn:aws:ssm:us-east-1:${emulator.accountId}:parameter/luks/disk0`;
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 77, stderr: '' });
      expect(plainLines(result.stdout)).toEqual([
        ...okUntilKey(file),
        `FAIL  key      Failed to get SSM parameter /luks/disk0: access denied to ssm:GetParameter on ${arn}`,
        `      fix: allow it in the instance role's policy: {"Effect":"Allow","Action":"ssm:GetParameter","Resource":"${arn}"}`,
      ]);
    });

    it('the parameter\'s KMS key disabled: 68', async () => {
      const key = emulator.createKey({ alias: 'alias/luks-off' });
      emulator.putParameter('/luks/kms-off', KEY.toString('utf8'), { keyId: key.keyId });
      emulator.setKeyState(key.keyId, 'Disabled');
      const file = await volume('kms-off', { SSM_PATH: '/luks/kms-off' });
      const result = await check('kms-off');
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 68, stderr: '' });
      expect(plainLines(result.stdout)).toEqual([
        ...okUntilKey(file),
        `FAIL  key      Failed to get SSM parameter /luks/kms-off: KMS key ${key.arn} is disabled`,
        `      fix: enable it: aws kms enable-key --key-id ${key.arn}`,
      ]);
    });

    it('region and credentials from instance metadata only: ok', async () => {
      const imdsOnly = await startEmulator({ region: 'eu-central-1' });
      try {
        imdsOnly.putParameter('/luks/disk0', KEY.toString('utf8'));
        const file = await volume('imds-only');
        const result = await check('imds-only', { withRegion: false, withCredentials: false }, imdsOnly);
        expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
        expect(plainLines(result.stdout)).toEqual([
          ...okUntilKey(file),
          `ok    key      ssm:/luks/disk0 version 1 (eu-central-1): ${KEY.length} bytes, opens a keyslot of ${join(devDir, 'disk0')}`,
        ]);
        const imdsCalls = imdsOnly.requests().filter((r) => r.service === 'imds').map((r) => r.action);
        expect(imdsCalls).toEqual(expect.arrayContaining(['token', 'GET /latest/meta-data/placement/region', 'credentials']));
      } finally {
        await imdsOnly.stop();
      }
    });
  });

  // Each waits for the whole deadline, so they run side by side, each against its own emulator.
  describe.concurrent(`past the deadline (TIMEOUT_SEC=${DEADLINE_SEC})`, () => {
    const slow = { TIMEOUT_SEC: String(DEADLINE_SEC), DEVICE_TIMEOUT_SEC: '1' };
    it.for([
      ['every SSM call answers 500', { serverErrors: { rate: 1 } }, true, /^FAIL {2}key {6}Failed to get SSM parameter \/luks\/disk0: server error \(InternalServerError, HTTP 500\) on \d+ attempts over \d\.\d s, giving up at the deadline$/],
      ['SSM throttles every call', { throttle: { ssm: { rate: 0, burst: 0 } } }, true, /^FAIL {2}key {6}Failed to get SSM parameter \/luks\/disk0: throttled \(ThrottlingException\) on \d+ attempts over \d\.\d s, giving up at the deadline$/],
      ['no region anywhere and IMDS absent', { imds: 'absent' }, false, /^FAIL {2}key {6}No AWS region: set SSM_REGION in \S+, or AWS_REGION, or run on EC2 with IMDS reachable \(instance metadata at http:\/\/127\.0\.0\.1:\d+: network error \(ECONNRESET\) on \d+ attempts over \d\.\d s, giving up at the deadline\)$/],
    ] as const)('%s: 69 (AWS unavailable), within the deadline', async ([name, faults, withRegion, line], { expect }) => {
      const own = await startEmulator();
      try {
        own.putParameter('/luks/disk0', KEY.toString('utf8'));
        own.faults.set(faults);
        const vol = `deadline-${name.replace(/\W+/g, '-')}`;
        const file = await volume(vol, slow);
        const result = await check(vol, { withRegion }, own);
        expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 69, stderr: '' });
        const lines = plainLines(result.stdout);
        expect(lines.slice(0, 3)).toEqual(okUntilKey(file));
        expect(lines.slice(3)).toEqual([expect.stringMatching(line)]);
        expect(result.elapsedMs).toBeGreaterThan((DEADLINE_SEC - 1) * 1000);
        expect(result.elapsedMs).toBeLessThan(DEADLINE_SEC * 1000 + SLACK_MS);
      } finally {
        await own.stop();
      }
    });
  });
});
