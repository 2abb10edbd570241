// Issue #10 item 2: once the volume is open, no copy of the passphrase is left in the process (a core dump would hold it).
// start runs for real against the emulator with the fake cryptsetup/mount; the fake mount pauses it, and the test
// reads /proc/<pid>/mem while it waits, counting the passphrase in every form a copy could take.
import { randomBytes } from 'node:crypto';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/index.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { findInMemory, keyForms, type MemoryHit } from '../support/memory-scan.ts';
import { canRunCryptsetup, formatLuksImage } from './luks-image.ts';
import { installFakeSystem, type FakeSystem } from './sysbin.ts';
import { createWorkspace, volumeEnv, writeVolumeConfig, type Workspace } from './workspace.ts';

const PAUSE_WAIT_MS = 30_000;
/** Real cryptsetup runs (two for the fallback) on a loaded 2-core host. */
const TEST_TIMEOUT_MS = 90_000;

/** A text passphrase no other byte sequence in the process can match by chance. */
const canary = (what: string): Buffer => Buffer.from(`canary-${what}-${randomBytes(16).toString('hex')}`);

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/**
 * Runs `args` until the fake mount pauses it, scans its memory for `keys`, then lets it finish.
 * Returns the CLI's result and, per key, where copies were found.
 */
async function scanWhileMounting(sys: FakeSystem, args: string[], env: Record<string, string>, keys: Buffer[]): Promise<{ result: CliResult; hits: MemoryHit[][] }> {
  await writeFile(join(sys.state, 'pause-mount'), '');
  let pid: number | undefined;
  const running = runCli(args, { env, timeoutMs: 60_000, onSpawn: (p) => (pid = p) });
  let hits: MemoryHit[][] = [];
  try {
    const until = Date.now() + PAUSE_WAIT_MS;
    while (!(await exists(join(sys.state, 'mount-paused')))) {
      if (Date.now() > until) throw new Error(`${args.join(' ')} never reached mount`);
      await sleep(20);
    }
    hits = await Promise.all(keys.map((key) => findInMemory(pid as number, keyForms(key))));
  } finally {
    await writeFile(join(sys.state, 'resume-mount'), '');
  }
  return { result: await running, hits };
}

const describeHits = (hits: MemoryHit[]): string[] => hits.map((h) => `${h.form} in ${h.region}`);

async function setUp(ws: Workspace, emulator: Emulator, key: Buffer, config: Record<string, string> = {}): Promise<{ sys: FakeSystem; env: Record<string, string> }> {
  const sys = await installFakeSystem(ws.dir, ws.sysRoot);
  await sys.addDevice(join(ws.devRoot, 'disk0'), await formatLuksImage(join(ws.dir, 'disk0.img'), key));
  await writeVolumeConfig(ws, 'vol', {
    LUKS_DEVICE: '/dev/disk0',
    LUKS_DEVICE_MAP: 'vol',
    LUKS_DEVICE_MOUNT_POINT: join(ws.dir, 'srv', 'vol'),
    SSM_PATH: '/luks/vol',
    ...config,
  });
  const env = volumeEnv(ws, emulator, { binDir: sys.bin, extra: { LUKS_SSM_MOUNTINFO: sys.mountinfo } });
  return { sys, env };
}

/** A fresh emulator and workspace for one test, both stopped and removed whatever the test does. */
async function inFreshWorld(name: string, body: (emulator: Emulator, ws: Workspace) => Promise<void>): Promise<void> {
  const emulator = await startEmulator();
  const ws = await createWorkspace(name);
  try {
    await body(emulator, ws);
  } finally {
    await emulator.stop();
    await ws.cleanup();
  }
}

describe.skipIf(!canRunCryptsetup)('key copies left in memory', { timeout: TEST_TIMEOUT_MS }, () => {
  it('start over SSM (http): no copy of the passphrase while mount runs', () =>
    inFreshWorld('copies-ssm', async (emulator, ws) => {
      const key = canary('ssm');
      const { sys, env } = await setUp(ws, emulator, key);
      emulator.putParameter('/luks/vol', key.toString('utf8'));
      const { result, hits } = await scanWhileMounting(sys, ['start', 'vol'], env, [key]);
      expect(result.code, result.stderr).toBe(0);
      expect(describeHits(hits[0] ?? [])).toEqual([]);
    }));

  it('start over SSM, base64 value: neither the key nor its base64 text is left', () =>
    inFreshWorld('copies-b64', async (emulator, ws) => {
      const key = canary('b64');
      const { sys, env } = await setUp(ws, emulator, key, { SSM_VALUE_ENCODING: 'base64' });
      emulator.putParameter('/luks/vol', key.toString('base64'));
      const { result, hits } = await scanWhileMounting(sys, ['start', 'vol'], env, [key]);
      expect(result.code, result.stderr).toBe(0);
      expect(describeHits(hits[0] ?? [])).toEqual([]);
    }));

  it('start falling back to an earlier SSM version: neither the current nor the earlier key is left', () =>
    inFreshWorld('copies-history', async (emulator, ws) => {
      const older = canary('older');
      const current = canary('current');
      const { sys, env } = await setUp(ws, emulator, older);
      emulator.putParameter('/luks/vol', older.toString('utf8'));
      emulator.putParameter('/luks/vol', current.toString('utf8'));
      const { result, hits } = await scanWhileMounting(sys, ['start', 'vol'], env, [older, current]);
      expect(result.code, result.stderr).toBe(0);
      expect((await sys.calls()).filter((c) => c.args[0] === 'open').length).toBe(2);
      expect({ older: describeHits(hits[0] ?? []), current: describeHits(hits[1] ?? []) }).toEqual({ older: [], current: [] });
    }));
});
