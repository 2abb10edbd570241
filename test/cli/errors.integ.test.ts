// Failures before AWS is asked: usage, permissions, config, device; each exit code with the line a user reads.
import { chmod, copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { NOBODY } from '../support/other-user.ts';
import { outcome, stepLines } from './check-report.ts';
import { canRunCryptsetup, zeroImage } from './luks-image.ts';
import { setUpOneDisk, type OneDisk } from './one-disk.ts';
import { volumeEnv, writeVolumeConfig } from './workspace.ts';

const LUKS_MOUNT_DEFAULT = fileURLToPath(new URL('../fixtures/luks-mount.default', import.meta.url));
const SLACK_MS = 4_000;
const DEVICE_FIX = '      fix: check the volume is attached to this instance (aws ec2 describe-volumes) and run lsblk';

let scene: OneDisk;

describe.skipIf(!canRunCryptsetup)('CLI errors before AWS (built CLI, real cryptsetup)', { concurrent: true }, () => {
  beforeAll(async () => {
    scene = await setUpOneDisk('errors');
  });
  afterAll(async () => {
    await scene?.tearDown();
  });
  const env = (): Record<string, string> => volumeEnv(scene.ws, scene.emulator);

  it.for([
    [[], 'luks-ssm: no verb given (see luks-ssm --help)'],
    [['frobnicate', 'data'], "luks-ssm: unknown verb 'frobnicate' (see luks-ssm --help)"],
    [['check'], 'luks-ssm: check takes exactly one volume name, got 0 (see luks-ssm --help)'],
    [['check', 'a', 'b'], 'luks-ssm: check takes exactly one volume name, got 2 (see luks-ssm --help)'],
    [['check', '--json', 'data'], 'luks-ssm: --json goes with status (see luks-ssm --help)'],
    [['check', '--bogus', 'data'], "luks-ssm: unknown option '--bogus' (see luks-ssm --help)"],
    // Review 8: parseArgs' own text advised on positionals and quoted unevenly.
    [['start', '--jsn', 'data'], "luks-ssm: unknown option '--jsn', did you mean '--json'? (see luks-ssm --help)"],
    [['start', 'data', '--config'], 'luks-ssm: --config needs a value (see luks-ssm --help)'],
    [['status', '--json=yes', 'data'], 'luks-ssm: --json takes no value (see luks-ssm --help)'],
    [['strat', 'data'], "luks-ssm: unknown verb 'strat', did you mean 'start'? (see luks-ssm --help)"],
    // Review 8: the unit runs `start zz` with zz's own config, so a --config given here would be ignored at boot.
    [['enable', '--config', '/etc/zz.conf', 'zz'], 'luks-ssm: --config does not go with enable: the unit reads /etc/luks-ssm/zz.conf, put the config there (see luks-ssm --help)'],
  ] as const)('usage: %j exits 2', async ([args, line], { expect }) => {
    const result = await runCli([...args], { env: env() });
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr.split('\n')).toEqual([typeof line === 'string' ? line : expect.stringMatching(line), '']);
  });

  it('<verb> --help and help <verb> print that verb\'s lines; --help alone the whole text', async ({ expect }) => {
    const [startHelp, helpRotate, all] = await Promise.all([
      runCli(['start', '--help'], { env: env() }),
      runCli(['help', 'rotate'], { env: env() }),
      runCli(['--help'], { env: env() }),
    ]);
    expect(startHelp).toMatchObject({ code: 0, stderr: '' });
    expect(startHelp.stdout.split('\n').slice(0, 3)).toEqual(['Usage:', '  start <volume>     fetch the passphrase, open the LUKS device, mount it (idempotent)', '']);
    expect(startHelp.stdout).not.toContain('Exit codes:');
    expect(helpRotate.stdout.split('\n').slice(0, 3)).toEqual([
      'Usage:',
      '  rotate <volume> [--dry-run]',
      '                     new passphrase: add first, verify, remove the old slot last; resumes an interrupted run',
    ]);
    expect(all.stdout).toContain('Exit codes:');
    expect(all.stdout).toContain('  start <volume>');
  });

  it('start as a user other than root: 4, with the sudo that fixes it', async ({ expect }) => {
    // runCli starts nobody's run from the build dir with a Node of its own: it runs wherever the checkout lives.
    const result = await runCli(['start', 'data'], { env: env(), uid: NOBODY });
    expect(result).toMatchObject({
      code: 4,
      stderr: 'luks-ssm start data: start needs root (cryptsetup, mount and systemd do) (run: sudo luks-ssm start data)\n',
    });
  });

  it('no config file for the volume: 6, naming the file and the sample', async ({ expect }) => {
    const result = await scene.check('nosuch');
    expect(result).toMatchObject({
      code: 6,
      stderr: `luks-ssm check nosuch: ${scene.ws.confDir}/nosuch.conf: no such config file for volume 'nosuch' (create it from /etc/luks-ssm/example.conf.sample)\n`,
    });
  });

  it('no config for a name near a configured volume: 6, with a did-you-mean (review 8: status data.conf)', async ({ expect }) => {
    await scene.volume('mydata');
    const [withSuffix, typo] = await Promise.all([scene.check('mydata.conf'), scene.check('mydta')]);
    expect(withSuffix).toMatchObject({
      code: 6,
      stderr: `luks-ssm check mydata.conf: ${scene.ws.confDir}/mydata.conf.conf: no such config file for volume 'mydata.conf' (did you mean 'mydata'? Otherwise create it from /etc/luks-ssm/example.conf.sample)\n`,
    });
    expect([typo.code, typo.stderr]).toEqual([6, expect.stringContaining("(did you mean 'mydata'? Otherwise create it from")]);
  });

  it('--config naming a missing file: 6', async ({ expect }) => {
    const missing = join(scene.ws.dir, 'missing.conf');
    const result = await runCli(['check', '--config', missing, 'data'], { env: env() });
    expect(result).toMatchObject({ code: 6, stderr: `luks-ssm check data: ${missing}: no such config file for volume 'data' (check the --config path)\n` });
  });

  it('an unknown key: 78, naming file:line with a did-you-mean', async ({ expect }) => {
    const file = await writeVolumeConfig(scene.ws, 'typo', { LUKS_DEVICE: '/dev/disk0', LUKS_DEVICE_MAP: 'typo', SSM_PAHT: '/luks/disk0' });
    const result = await scene.check('typo');
    expect(result).toMatchObject({ code: 78, stderr: `luks-ssm check typo: ${file}:4: unknown key 'SSM_PAHT', did you mean 'SSM_PATH'?\n` });
  });

  it('a config file others can write: 78, with the chmod that fixes it', async ({ expect }) => {
    const file = await writeVolumeConfig(scene.ws, 'loose', { LUKS_DEVICE: '/dev/disk0' }, 0o666);
    const result = await scene.check('loose');
    expect(result).toMatchObject({ code: 78, stderr: `luks-ssm check loose: ${file}: writable by group/others (mode 0666), refusing; run: chmod go-w ${file}\n` });
  });

  it('a LUKS_SSM_RUN_DIR others can write: 78, before any lock file is made there (review 9)', async ({ expect }) => {
    const runDir = join(scene.ws.dir, 'open-run');
    await mkdir(runDir, { mode: 0o777 });
    await chmod(runDir, 0o777);
    await scene.volume('rundir', { LUKS_DEVICE: '/dev/disk0' });
    const result = await runCli(['check', 'rundir'], { env: { ...env(), LUKS_SSM_RUN_DIR: runDir } });
    expect(result).toMatchObject({
      code: 78,
      stderr: `luks-ssm check rundir: LUKS_SSM_RUN_DIR: ${runDir} is writable by group/others (mode 0777), refusing: root writes lock files there (unset LUKS_SSM_RUN_DIR, or name a directory only root can write)\n`,
    });
    expect(await readdir(runDir)).toEqual([]);
  });

  it('not LUKS: 65, and nothing is written to the device', async ({ expect }) => {
    const image = await zeroImage(join(scene.ws.devRoot, 'blank'));
    const file = await scene.volume('blank', { LUKS_DEVICE: '/dev/blank' });
    const result = await scene.check('blank');
    const blank = join(scene.disk0, '..', 'blank');
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 65, stderr: '' });
    expect(outcome(result.stdout)).toEqual({ failed: ['luks'], last: 'luks' });
    expect(stepLines(result.stdout, ['config', 'device', 'luks'])).toEqual([
      `ok    config   ${file}`,
      `ok    device   /dev/blank -> ${blank}`,
      `FAIL  luks     ${blank} is not a LUKS volume`,
      `      fix: check LUKS_DEVICE; a new, blank volume is made one with luks-ssm enroll blank --format (start never formats a device)`,
    ]);
    expect((await readFile(image)).equals(Buffer.alloc(4 * 1024 * 1024))).toBe(true);
  });

  it('a device that never appears: 66 after DEVICE_TIMEOUT_SEC', async ({ expect }) => {
    const file = await scene.volume('absent', { LUKS_DEVICE: '/dev/absent', DEVICE_TIMEOUT_SEC: '1' });
    const result = await scene.check('absent');
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 66, stderr: '' });
    expect(outcome(result.stdout)).toEqual({ failed: ['device'], last: 'device' });
    expect(stepLines(result.stdout, ['config', 'device'])).toEqual([`ok    config   ${file}`, 'FAIL  device   Device /dev/absent did not appear within 1 s', DEVICE_FIX]);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(1_000);
    expect(result.elapsedMs).toBeLessThan(1_000 + SLACK_MS);
  });

  describe('the shell-script design\'s /etc/default/luks-mount, unchanged', () => {
    let luksMount: string;
    beforeAll(async () => {
      // A byte-for-byte copy in a root-only directory: config files refuse directories others can write.
      const etcDefault = join(scene.ws.dir, 'etc-default');
      await mkdir(etcDefault, { mode: 0o700 });
      luksMount = join(etcDefault, 'luks-mount');
      await copyFile(LUKS_MOUNT_DEFAULT, luksMount);
      // copyFile keeps the checkout's mode, which a umask of 002 makes 0664: config files refuse that.
      await chmod(luksMount, 0o600);
    });

    it('as --config: accepted, then FAIL device /dev/nvme1n1 (66)', async ({ expect }) => {
      expect(await readFile(luksMount)).toEqual(await readFile(LUKS_MOUNT_DEFAULT));
      // A defaults file, outside the conf dir: there it would be a volume of its own, sharing luks-mount's mapping.
      const fast = join(dirname(luksMount), 'fast-device-timeout');
      await writeFile(fast, 'DEVICE_TIMEOUT_SEC=1\n', { mode: 0o600 });
      const result = await runCli(['check', '--config', luksMount, 'data'], { env: { ...env(), LUKS_SSM_DEFAULTS: fast } });
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 66, stderr: '' });
      expect(outcome(result.stdout)).toEqual({ failed: ['device'], last: 'device' });
      expect(stepLines(result.stdout, ['config', 'device'])).toEqual([`ok    config   ${fast}, ${luksMount}`, 'FAIL  device   Device /dev/nvme1n1 did not appear within 1 s', DEVICE_FIX]);
    });

    it('as LUKS_SSM_DEFAULTS under a one-line volume file: accepted, then FAIL device (66)', async ({ expect }) => {
      const own = await writeVolumeConfig(scene.ws, 'data', { DEVICE_TIMEOUT_SEC: '1' });
      const result = await runCli(['check', 'data'], { env: { ...env(), LUKS_SSM_DEFAULTS: luksMount } });
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 66, stderr: '' });
      expect(outcome(result.stdout)).toEqual({ failed: ['device'], last: 'device' });
      expect(stepLines(result.stdout, ['config', 'device'])).toEqual([`ok    config   ${luksMount}, ${own}`, 'FAIL  device   Device /dev/nvme1n1 did not appear within 1 s', DEVICE_FIX]);
    });
  });
});
