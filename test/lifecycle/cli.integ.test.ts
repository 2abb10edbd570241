// The lifecycle verbs through the built CLI: enroll, check, rotate, migrate, with real cryptsetup and the emulator.
import { readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testPassphrase } from '../../src/luks/cryptsetup.ts';
import { startEmulator, type Emulator } from '../emulator/index.ts';
import { runCli } from '../support/cli.ts';
import { createWorkspace, volumeEnv, writeVolumeConfig, type Workspace } from '../cli/workspace.ts';
import { canRunCryptsetup, createImageDir, key, run, type ImageDir } from './images.ts';

let emulator: Emulator;
let ws: Workspace;
let images: ImageDir;
let n = 0;

/** A volume named `v<n>` on a fresh image linked as /dev/v<n>, with a fast pbkdf2 for its key slots. */
async function volume(kind: 'blank' | 'luks', extra: Record<string, string> = {}): Promise<{ name: string; device: string; env: Record<string, string> }> {
  n += 1;
  const name = `v${n}`;
  const device = kind === 'blank' ? await images.blank(name) : await images.luks(name, 'admin-passphrase');
  await symlink(device, join(ws.devRoot, name));
  await writeVolumeConfig(ws, name, {
    LUKS_DEVICE: `/dev/${name}`, LUKS_DEVICE_MAP: name, LUKS_DEVICE_MOUNT_POINT: `/srv/${name}`, SSM_PATH: `/luks/${name}`,
    LUKS_PBKDF: 'pbkdf2', LUKS_PBKDF_FORCE_ITERATIONS: '1000', ...extra,
  });
  return { name, device, env: volumeEnv(ws, emulator) };
}

describe.skipIf(!canRunCryptsetup)('lifecycle verbs (built CLI, real cryptsetup, emulator)', () => {
  beforeAll(async () => {
    emulator = await startEmulator();
    ws = await createWorkspace('lifecycle');
    images = await createImageDir();
  });
  afterAll(async () => {
    await emulator.stop();
    await ws.cleanup();
    await images.cleanup();
  });
  beforeEach(() => emulator.reset());

  it('enroll --format, check, rotate: exit 0 each, the plan on stdout, the passphrase nowhere', async () => {
    const v = await volume('blank');
    const enrolled = await runCli(['enroll', '--format', v.name], { env: v.env });
    expect({ code: enrolled.code, stderr: enrolled.stderr }).toEqual({ code: 0, stderr: expect.not.stringMatching(/error/i) });
    expect(enrolled.stdout.split('\n').filter((l) => !l.startsWith('{'))[0]).toBe(`stored a new passphrase from KMS GenerateRandom in SSM parameter /luks/${v.name}`);
    const checked = await runCli(['check', v.name], { env: v.env });
    expect(checked.code).toBe(0);
    expect(checked.stdout).toMatch(/^ok {4}kms-key  KMS key arn:aws:kms:\S+ is enabled$/m);
    const rotated = await runCli(['rotate', v.name], { env: v.env });
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain(`removed key slot 0 (version 1) of ${v.device}`);
    const versions = emulator.requests().filter((r) => r.action === 'PutParameter' && r.status === 200);
    expect(versions).toHaveLength(2);
    for (const result of [enrolled, checked, rotated]) expect(`${result.stdout}${result.stderr}`).not.toMatch(/[A-Za-z0-9+/]{86}==/);
  });

  it('enroll --add-to-existing --existing-key-file: the admin passphrase keeps working', async () => {
    const v = await volume('luks');
    const keyFile = join(ws.dir, `${v.name}.key`);
    await writeFile(keyFile, 'admin-passphrase', { mode: 0o600 });
    const result = await runCli(['enroll', '--add-to-existing', '--existing-key-file', keyFile, v.name], { env: v.env });
    expect(result.code).toBe(0);
    expect(await testPassphrase(run, v.device, key('admin-passphrase'))).toBe(true);
    expect((await runCli(['check', v.name], { env: v.env })).code).toBe(0);
  });

  it('enroll on a device with a filesystem: 82 and one line', async () => {
    const v = await volume('blank');
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfs.ext4', ['-q', '-F', v.device]);
    const result = await runCli(['enroll', '--format', v.name], { env: v.env });
    expect(result.code).toBe(82);
    expect(result.stderr).toBe(`luks-ssm enroll ${v.name}: ${v.device} is not blank (it has a ext4 signature), refusing to format it (luks-ssm never formats a device with a signature on it)\n`);
  });

  it('migrate: validates and checks the luks-mount file, prints the switch-over, writes only with --apply', async () => {
    const v = await volume('luks');
    emulator.putParameter(`/luks/${v.name}`, 'admin-passphrase');
    const from = join(ws.dir, `${v.name}.luks-mount`);
    const text = `# /etc/default/luks-mount\nLUKS_DEVICE=/dev/${v.name}\nLUKS_DEVICE_MAP=${v.name}\nLUKS_DEVICE_FS=ext4\nLUKS_DEVICE_MOUNT_OPT=defaults,noatime\nLUKS_DEVICE_MOUNT_POINT=/srv/${v.name}\nSSM_PATH=/luks/${v.name}\nSSM_REGION=us-east-1\n`;
    await writeFile(from, text, { mode: 0o600 });
    const target = join(ws.confDir, `${v.name}-new.conf`);
    const dry = await runCli(['migrate', '--from', from, `${v.name}-new`], { env: v.env });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would write ${target} (a copy of ${from}); run again with --apply to write it`);
    expect(dry.stdout).toContain('  systemctl disable --now luks-mount.service');
    expect(dry.stdout).toContain(`  systemctl start luks-ssm@${v.name}-new.service`);
    await expect(stat(target)).rejects.toMatchObject({ code: 'ENOENT' });
    const applied = await runCli(['migrate', '--from', from, `${v.name}-new`, '--apply'], { env: v.env });
    expect(applied.stdout).toContain(`wrote ${target}`);
    expect(await readFile(target, 'utf8')).toBe(`# Migrated from ${from} by luks-ssm migrate: luks-mount keys are read unchanged.\n${text}`);
    expect((await stat(target)).mode & 0o777).toBe(0o600);
    expect((await runCli(['check', `${v.name}-new`], { env: v.env })).code).toBe(0);
    const again = await runCli(['migrate', '--from', from, `${v.name}-new`, '--apply'], { env: v.env });
    expect(again.stdout).toContain(`${target} already holds this config`);
  });

  it('migrate refuses an unknown key, and writes nothing when the check fails', async () => {
    const v = await volume('luks');
    const from = join(ws.dir, `${v.name}.bad`);
    await writeFile(from, `LUKS_DEVICE=/dev/${v.name}\nLUKS_DEVICE_MAP=x\nLUKS_DEVICE_MOUNT_POINT=/srv/x\nSSM_PATH=/luks/x\nLUKS_DEVCE_FS=ext4\n`, { mode: 0o600 });
    const unknown = await runCli(['migrate', '--from', from, 'x1'], { env: v.env });
    expect([unknown.code, unknown.stderr]).toEqual([78, `luks-ssm migrate x1: ${from}:5: unknown key 'LUKS_DEVCE_FS', did you mean 'LUKS_DEVICE_FS'?\n`]);
    await writeFile(from, `LUKS_DEVICE=/dev/${v.name}\nLUKS_DEVICE_MAP=x\nLUKS_DEVICE_MOUNT_POINT=/srv/x\nSSM_PATH=/luks/x\n`, { mode: 0o600 });
    emulator.putParameter('/luks/x', 'not-the-passphrase');
    const failing = await runCli(['migrate', '--from', from, 'x2', '--apply'], { env: v.env });
    expect(failing.code).toBe(80);
    expect(failing.stdout).toContain('check failed: fix that before switching over; nothing written');
    await expect(stat(join(ws.confDir, 'x2.conf'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
