// recovery-key: real cryptsetup on images, the SSM key from the emulator, the key shown once and stored nowhere.
import { mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPassphrase } from '../../src/luks/cryptsetup.ts';
import { readLuksHeader } from '../../src/luks/keyslots.ts';
import { recoverySlotsOf } from '../../src/luks/recovery-token.ts';
import { addRecoveryKey } from '../../src/lifecycle/recovery.ts';
import { openRecoveryOutput } from '../../src/lifecycle/recovery-output.ts';
import { rotateVolume } from '../../src/lifecycle/rotate.ts';
import { lifecycleConfig } from './config.ts';
import { checkVolume, formatCheckReport } from '../../src/volume/check.ts';
import { formatVolumeStatus, readVolumeStatus } from '../../src/volume/status.ts';
import { createKeySource } from '../../src/lifecycle/key-source.ts';
import type { VolumeDeps } from '../../src/volume/deps.ts';
import { lifecycleDeps, useLifecycleWorld } from './harness.ts';
import { canRunCryptsetup, key, run } from './images.ts';

const world = useLifecycleWorld();
const KEY_FORMAT = /^[cbdefghijklnrtuv]{8}(-[cbdefghijklnrtuv]{8}){7}$/;
let n = 0;
let out = '';

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'luks-ssm-recovery-'));
});
afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

async function volume() {
  n += 1;
  const device = await world.images.luks(`rec-${n}`, 'ssm-key');
  await world.dev.link(`rec-${n}`, device);
  world.emulator.putParameter('/luks/data', 'ssm-key');
  return { config: lifecycleConfig(world.emulator.url, { device: `/dev/rec-${n}` }), device };
}

function volumeDepsOf(deps: ReturnType<typeof lifecycleDeps>): Omit<VolumeDeps, 'keySource'> {
  // No device-mapper here: `cryptsetup status` answers "not active" (exit 4) as it would for a closed volume.
  const noDm: typeof run = async (file, args, options) =>
    file === 'cryptsetup' && args[0] === 'status' ? { exitCode: 4, stdout: '', stderr: '', timedOut: false } : run(file, args, options);
  return {
    run: noDm, clock: deps.clock, log: deps.log, runDir: '/nonexistent', devRoot: world.dev.root,
    acquireLock: deps.acquireLock, runUnderHostLock: () => noDm, acquireVolumeLock: deps.acquireVolumeLock, acquireDeviceLock: deps.acquireDeviceLock, activeDependents: async () => [], unitOfPid: async () => undefined,
  };
}

/** A terminal stand-in that keeps what was shown. */
function terminal() {
  const shown: string[] = [];
  return { shown, stdout: (b: Buffer | string) => void shown.push(Buffer.isBuffer(b) ? b.toString('utf8') : b) };
}

describe.skipIf(!canRunCryptsetup)('recovery-key (real cryptsetup)', () => {
  it('adds a key in systemd\'s format to its own pbkdf2 slot, records a systemd-recovery token, shows it once', async () => {
    const { config, device } = await volume();
    const deps = lifecycleDeps(world.emulator, world.dev);
    const tty = terminal();
    const report = await addRecoveryKey(deps, config, await openRecoveryOutput({ file: undefined, stdoutIsTty: true, stdout: tty.stdout }));
    const recovery = tty.shown.find((s) => KEY_FORMAT.test(s)) as string;
    expect(recovery).toBeDefined();
    expect(await testPassphrase(run, device, key(recovery))).toBe(true);
    const header = await readLuksHeader(run, device);
    const [slot] = recoverySlotsOf(header);
    expect(slot).toMatchObject({ slot: 1 });
    expect(Date.parse(slot!.created!)).toBeGreaterThan(Date.now() - 60_000);
    const token = header.tokens.find((t) => t.type === 'systemd-recovery')!;
    expect(token.json.keyslots).toEqual(['1']);
    const dump = (await run('cryptsetup', ['luksDump', device])).stdout;
    const slot1 = dump.slice(dump.indexOf('  1: luks2'), dump.indexOf('Tokens:'));
    expect(slot1).toMatch(/PBKDF:\s+pbkdf2/);
    expect(slot1).toMatch(/Hash:\s+sha512/);
    expect(slot1).toMatch(/Iterations:\s+1000\b/);
    expect(report.lines.join('\n')).not.toContain(recovery);
    const checked = await checkVolume({ ...volumeDepsOf(deps), keySource: (c) => createKeySource(c, { ...deps, devRoot: world.dev.root }) }, config);
    expect(checked.steps.at(-1)).toMatchObject({ name: 'recovery', ok: true });
    expect(checked.steps.at(-1)!.detail).toMatch(/^recovery key in key slot 1, created 20\d\d-/);
    expect(formatCheckReport(checked)).not.toContain(recovery);
    const status = formatVolumeStatus(await readVolumeStatus({ ...volumeDepsOf(deps), keySource: () => { throw new Error('status reads no key'); } }, { ...config, mapName: `luks-ssm-test-absent-${n}` }, async () => []));
    expect(status).toMatch(/^recovery: +recovery key in key slot 1, created 20\d\d-/m);
    expect(JSON.stringify(deps.log.lines)).not.toContain(recovery);
  });

  it('refuses a stdout that is not a terminal without --output, before touching the device', async () => {
    await expect(openRecoveryOutput({ file: undefined, stdoutIsTty: false, stdout: () => {} })).rejects.toMatchObject({ kind: 'USAGE' });
  });

  it('--output writes the key to a new 0600 file and refuses an existing file or a symlink', async () => {
    const { config, device } = await volume();
    const file = join(out, `key-${n}`);
    await addRecoveryKey(lifecycleDeps(world.emulator, world.dev), config, await openRecoveryOutput({ file, stdoutIsTty: false, stdout: () => {} }));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const written = (await readFile(file, 'utf8')).trimEnd();
    expect(written).toMatch(KEY_FORMAT);
    expect(await testPassphrase(run, device, key(written))).toBe(true);
    await expect(openRecoveryOutput({ file, stdoutIsTty: false, stdout: () => {} })).rejects.toThrow(/exists/);
    await writeFile(join(out, 'target'), '');
    await symlink(join(out, 'target'), join(out, 'link'));
    await expect(openRecoveryOutput({ file: join(out, 'link'), stdoutIsTty: false, stdout: () => {} })).rejects.toMatchObject({ kind: 'USAGE' });
  });

  it('replaces an older recovery key; rotate never removes it', async () => {
    const { config, device } = await volume();
    const deps = lifecycleDeps(world.emulator, world.dev);
    const first = terminal();
    await addRecoveryKey(deps, config, await openRecoveryOutput({ file: undefined, stdoutIsTty: true, stdout: first.stdout }));
    const second = terminal();
    const report = await addRecoveryKey(deps, config, await openRecoveryOutput({ file: undefined, stdoutIsTty: true, stdout: second.stdout }));
    const [k1, k2] = [first, second].map((t) => t.shown.find((s) => KEY_FORMAT.test(s)) as string);
    expect(report.lines.at(-1)).toMatch(/removed the older recovery key in key slot 1/);
    expect(await testPassphrase(run, device, key(k1!))).toBe(false);
    expect(await testPassphrase(run, device, key(k2!))).toBe(true);
    expect(recoverySlotsOf(await readLuksHeader(run, device))).toHaveLength(1);
    await rotateVolume(deps, config);
    expect(await testPassphrase(run, device, key(k2!))).toBe(true);
    expect(await testPassphrase(run, device, key('ssm-key'))).toBe(false);
    expect(recoverySlotsOf(await readLuksHeader(run, device))).toHaveLength(1);
  });

  it('is authorised by the SSM key only: a parameter that opens nothing adds nothing', async () => {
    const { config: base, device } = await volume();
    world.emulator.putParameter('/luks/data', 'not-the-key');
    const config = { ...base, ssmHistoryFallback: 0 };
    const file = join(out, `refused-${n}`);
    await expect(addRecoveryKey(lifecycleDeps(world.emulator, world.dev), config, await openRecoveryOutput({ file, stdoutIsTty: false, stdout: () => {} })))
      .rejects.toMatchObject({ kind: 'WRONG_PASSPHRASE' });
    expect((await readLuksHeader(run, device)).keyslots).toEqual([0]);
    await expect(stat(file)).rejects.toThrow();
  });
});
