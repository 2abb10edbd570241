// `luks-ssm check` fully real: built CLI, real SDK against the emulator, real cryptsetup on LUKS2 image files.
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/index.ts';
import { runCli } from '../support/cli.ts';
import { outcome, stepLines } from './check-report.ts';
import { canRunCryptsetup, formatLuksImage } from './luks-image.ts';
import { passphrases } from './passphrases.ts';
import { createWorkspace, volumeEnv, writeVolumeConfig, type Workspace } from './workspace.ts';

// Five concurrent checks, each now testing the key, reading the key slots and the recovery tokens: on 2 cores shared
// with other builds (load ~20) one took ~55 s, past the default 30 s.
vi.setConfig({ testTimeout: 120_000 });

let emulator: Emulator;
let ws: Workspace;
/** The workspace's /dev as the CLI prints it (realpath). */
let devDir: string;

describe.skipIf(!canRunCryptsetup)('check on LUKS2 image files', () => {
  beforeAll(async () => {
    emulator = await startEmulator();
    ws = await createWorkspace('check');
    devDir = await realpath(ws.devRoot);
  });
  afterAll(async () => {
    await emulator?.stop();
    await ws?.cleanup();
  });

  // Five at once, each two CLI runs with real cryptsetup: on 2 loaded cores one can take well over 30 s.
  it.concurrent.for(passphrases())('$name: the exact bytes open a keyslot (exit 0), a near miss does not (exit 80)', { timeout: 180_000 }, async (p, { expect }) => {
    await formatLuksImage(join(ws.devRoot, p.name), p.key);
    emulator.putParameter(`/luks/${p.name}`, p.ssmValue);
    const near = p.encoding === 'base64' ? p.near.toString('base64') : p.near.toString('utf8');
    emulator.putParameter(`/luks/${p.name}-near`, near);
    // Each its own mapping and mount point: two configs sharing one fail check's config step (78).
    const settings = (name: string): Record<string, string> => ({
      LUKS_DEVICE: `/dev/${p.name}`,
      LUKS_DEVICE_MAP: name,
      LUKS_DEVICE_MOUNT_POINT: `/srv/${name}`,
      SSM_PATH: `/luks/${name}`,
      SSM_VALUE_ENCODING: p.encoding,
    });
    const right = await writeVolumeConfig(ws, p.name, settings(p.name));
    const wrong = await writeVolumeConfig(ws, `${p.name}-near`, settings(`${p.name}-near`));
    const device = join(devDir, p.name);
    const env = volumeEnv(ws, emulator);

    const ok = await runCli(['check', p.name], { env, timeoutMs: 90_000 });
    expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: '' });
    expect(outcome(ok.stdout)).toEqual({ failed: [], last: 'imds' });
    expect(stepLines(ok.stdout, ['config', 'device', 'luks', 'key'])).toEqual([
      `ok    config   ${right}`,
      `ok    device   /dev/${p.name} -> ${device}`,
      'ok    luks     LUKS header found',
      `ok    key      ssm:/luks/${p.name} version 1 (us-east-1): ${p.key.length} bytes, opens key slot 0 of ${device}`,
    ]);

    const miss = await runCli(['check', `${p.name}-near`], { env, timeoutMs: 90_000 });
    expect({ code: miss.code, stderr: miss.stderr }).toEqual({ code: 80, stderr: '' });
    expect(outcome(miss.stdout)).toEqual({ failed: ['key'], last: 'key' });
    expect(stepLines(miss.stdout, ['config', 'device', 'luks', 'key'])).toEqual([
      `ok    config   ${wrong}`,
      `ok    device   /dev/${p.name} -> ${device}`,
      'ok    luks     LUKS header found',
      `FAIL  key      ssm:/luks/${p.name}-near version 1 (us-east-1): ${p.near.length} bytes, but it opens no keyslot of ${device}`,
      '      fix: the parameter holds a different passphrase: check SSM_PATH and the parameter version',
    ]);
  });

  // Review 8: a value stored with a trailing newline that the shell script's $(aws ssm …) dropped opens nothing here.
  it('key: a value ending in a line break that opens nothing gets the line-break fix', async ({ expect }) => {
    const p = passphrases().find((x) => x.name === 'spaces')!;
    await formatLuksImage(join(ws.devRoot, 'nl'), p.key);
    emulator.putParameter('/luks/nl', `${p.ssmValue}\n`);
    await writeVolumeConfig(ws, 'nl', { LUKS_DEVICE: '/dev/nl', LUKS_DEVICE_MAP: 'nl', LUKS_DEVICE_MOUNT_POINT: '/srv/nl', SSM_PATH: '/luks/nl', SSM_VALUE_ENCODING: 'text' });
    const miss = await runCli(['check', 'nl'], { env: volumeEnv(ws, emulator), timeoutMs: 90_000 });
    expect(miss.code).toBe(80);
    expect(stepLines(miss.stdout, ['key']).at(-1)).toBe(
      "      fix: the value ends with a line break, which luks-ssm keeps (a shell script's $(aws ssm get-parameter …) dropped it): if the volume was keyed without it, store the value again without the trailing line break",
    );
  });

  // Any local process that reaches IMDS can take the role's credentials (issue #10, item 14): check says whether
  // a user other than root can, by asking for a token as uid 65534. Here "IMDS" is the emulator on loopback.
  it.skipIf(process.getuid?.() !== 0)('imds: warns when uid 65534 gets a token, and says so when it cannot', async ({ expect }) => {
    const p = passphrases()[0]!;
    await formatLuksImage(join(ws.devRoot, 'imds'), p.key);
    emulator.putParameter('/luks/imds', p.ssmValue);
    const settings = { LUKS_DEVICE: '/dev/imds', LUKS_DEVICE_MAP: 'imds', LUKS_DEVICE_MOUNT_POINT: '/srv/imds', SSM_PATH: '/luks/imds', SSM_VALUE_ENCODING: p.encoding };
    await writeVolumeConfig(ws, 'imds', settings);
    const reachable = await runCli(['check', 'imds'], { env: volumeEnv(ws, emulator), timeoutMs: 90_000 });
    expect(reachable.code).toBe(0);
    expect(stepLines(reachable.stdout, ['imds'])).toEqual([
      `warn  imds     a non-root user (uid 65534) got a token from ${emulator.url}: any local process can take the instance role's credentials and read the passphrase`,
      '      fix: let only root reach it: iptables -A OUTPUT -d 169.254.169.254 -p tcp -m owner ! --uid-owner 0 -j REJECT (made persistent, e.g. with iptables-persistent)',
    ]);
    await writeVolumeConfig(ws, 'imds', { ...settings, IMDS_ENDPOINT: 'http://127.0.0.1:1' });
    const closed = await runCli(['check', 'imds'], { env: volumeEnv(ws, emulator), timeoutMs: 90_000 });
    expect(closed.code).toBe(0);
    expect(stepLines(closed.stdout, ['imds'])).toEqual(['ok    imds     a non-root user (uid 65534) gets no token from http://127.0.0.1:1 (ECONNREFUSED)']);
  });
});
