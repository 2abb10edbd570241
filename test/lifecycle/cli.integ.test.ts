// The lifecycle verbs through the built CLI: enroll, check, rotate, migrate, with real cryptsetup and the emulator.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testPassphrase } from '../../src/luks/cryptsetup.ts';
import { startEmulator, type Emulator } from '../emulator/index.ts';
import { cliCommand, CLI_TIMEOUT_MS, runCli } from '../support/cli.ts';
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

  it('enroll --add-to-existing at a terminal: asks through systemd-ask-password (stdin the terminal), never in argv or output', async () => {
    const v = await volume('luks');
    const bin = join(ws.dir, `${v.name}-bin`);
    await mkdir(bin);
    // A fake systemd-ask-password answering as a person would at the terminal: only when its stdin is one.
    await writeFile(join(bin, 'systemd-ask-password'), `#!/bin/sh\nprintf '%s\\n' "$@" > ${bin}/argv\n[ -t 0 ] || { echo 'stdin is not a terminal' >&2; exit 1; }\nprintf 'admin-passphrase\\n'\n`);
    await chmod(join(bin, 'systemd-ask-password'), 0o755);
    const result = await inTerminal(['enroll', '--add-to-existing', v.name], { ...v.env, LUKS_SSM_TEST_EXEC_PATH: bin });
    expect(result.code).toBe(0);
    expect(result.output).toContain(`authorised by the existing passphrase`);
    const argv = (await readFile(join(bin, 'argv'), 'utf8')).split('\n');
    expect(argv).toEqual(expect.arrayContaining([`--id=luks-ssm-enroll:${v.name}`, `Existing passphrase of ${v.name} (/dev/${v.name}), to authorise adding the luks-ssm key:`]));
    expect(`${argv.join(' ')}${result.output}`).not.toContain('admin-passphrase');
    expect(await testPassphrase(run, v.device, key('admin-passphrase'))).toBe(true);
    expect((await runCli(['check', v.name], { env: v.env })).code).toBe(0);
  });

  it.skipIf(!existsSync('/usr/bin/systemd-ask-password'))('enroll --add-to-existing at a terminal, the real systemd-ask-password: typed without echo, enrolled', async () => {
    const v = await volume('luks');
    const prompt = `Existing passphrase of ${v.name} (/dev/${v.name}), to authorise adding the luks-ssm key:`;
    const result = await inTerminal(['enroll', '--add-to-existing', v.name], v.env, { prompt, keys: 'admin-passphrase' });
    expect(result.code).toBe(0);
    expect(result.output).toContain(prompt);
    expect(result.output).not.toContain('admin-passphrase');
    expect((await runCli(['check', v.name], { env: v.env })).code).toBe(0);
    expect(await testPassphrase(run, v.device, key('admin-passphrase'))).toBe(true);
  });

  it('enroll --add-to-existing with stdin neither a terminal nor a pipe (/dev/null): 2, one line, nothing stored', async () => {
    const v = await volume('luks');
    const result = await runCli(['enroll', '--add-to-existing', v.name], { env: v.env });
    expect([result.code, result.stderr]).toEqual([2, `luks-ssm enroll ${v.name}: --add-to-existing needs the existing passphrase, but stdin is not a terminal and gave none, refusing (run it at a terminal to be asked, pipe it in (printf '%s' …), or pass --existing-key-file FILE)\n`]);
    expect(emulator.requests().filter((r) => r.action === 'PutParameter')).toEqual([]);
    // With --recovery-key --output, the file made for the key is removed again: a second run is not refused for it.
    const output = join(ws.dir, `${v.name}.recovery`);
    const withOutput = await runCli(['enroll', '--add-to-existing', '--recovery-key', '--output', output, v.name], { env: v.env });
    expect(withOutput.code).toBe(2);
    await expect(stat(output)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('echo passphrase | enroll --add-to-existing: 80 with the line-break hint, the passphrase in no output; --dry-run fails the same', async () => {
    const v = await volume('luks');
    for (const extra of [['--dry-run'], []]) {
      const result = await withStdin(['enroll', '--add-to-existing', ...extra, v.name], v.env, 'admin-passphrase\n');
      expect(result.code).toBe(80);
      expect(result.stderr).toMatch(/^luks-ssm enroll v\d+: The existing passphrase given opens no key slot of \S+, refusing \(it ends with a line break, .*printf.*\)\n$/);
      expect(`${result.stdout}${result.stderr}`).not.toContain('admin-passphrase');
    }
    expect(emulator.requests().filter((r) => r.action === 'PutParameter')).toEqual([]);
    const piped = await withStdin(['enroll', '--add-to-existing', v.name], v.env, 'admin-passphrase');
    expect(piped.code).toBe(0);
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
    // The disk has no luks-ssm config yet: migrate writes its first (another with its mapping would fail check, 78).
    await rm(join(ws.confDir, `${v.name}.conf`));
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

/** The built CLI with `input` piped to its stdin. */
function withStdin(args: string[], env: Record<string, string>, input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliCommand(), ...args], { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: CLI_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/**
 * The built CLI on a terminal of its own (util-linux script(1)): stdin, stdout and stderr are the pty. `typed.keys`
 * are typed there, Enter included, once `typed.prompt` shows and the terminal's echo is off: systemd-ask-password
 * writes its question before it turns echo off, and keys typed in between would echo (as for a person that fast).
 */
function inTerminal(args: string[], env: Record<string, string>, typed?: { prompt: string; keys: string }): Promise<{ code: number | null; output: string }> {
  const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
  const command = [process.execPath, ...cliCommand(), ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], { env: { ...env, SHELL: '/bin/sh' }, stdio: ['pipe', 'pipe', 'pipe'], timeout: CLI_TIMEOUT_MS });
    let output = '';
    let pending = typed;
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (pending !== undefined && output.includes(pending.prompt)) {
        const keys = `${pending.keys}\r`;
        pending = undefined;
        echoOff(child.pid as number).then(() => child.stdin.write(keys), reject);
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** Resolves once the pty that script(1) (`scriptPid`) runs its command on has echo off (`stty -F … -a`: "-echo"). */
async function echoOff(scriptPid: number): Promise<void> {
  const { readdir, readlink } = await import('node:fs/promises');
  const { execFileSync } = await import('node:child_process');
  let pty: string | undefined;
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === scriptPid) pty = await readlink(`/proc/${pid}/fd/0`).catch(() => undefined);
  }
  if (pty === undefined || !pty.startsWith('/dev/pts/')) throw new Error(`no pty found under script (pid ${scriptPid})`);
  // Polled: the state is what is waited for, not a time; script's own bound (CLI_TIMEOUT_MS) ends a run that never gets there.
  for (let i = 0; i < 2000; i += 1) {
    if (/(^|\s)-echo(\s|$)/.test(execFileSync('stty', ['-F', pty, '-a'], { encoding: 'utf8' }))) return;
    await new Promise((done) => setTimeout(done, 10));
  }
  throw new Error(`echo never went off on ${pty}`);
}
