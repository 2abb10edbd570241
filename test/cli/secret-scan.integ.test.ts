// The passphrase never leaves memory: after every verb, no output, record, run file or child argv/env holds it.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/index.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { canRunCryptsetup, formatLuksImage } from './luks-image.ts';
import { passphrases, type Passphrase } from './passphrases.ts';
import { filesUnder, findLeaks, type Haystack } from './secret-scanner.ts';
import { installFakeSystem, type FakeSystem } from './sysbin.ts';
import { createWorkspace, volumeEnv, writeVolumeConfig, type Workspace } from './workspace.ts';

/** Verbs in the order a host meets them; -v turns on debug logging, the likeliest place for a leak. */
const SCRIPT: Array<{ args: string[]; code: number }> = [
  { args: ['check', '-v', 'vol'], code: 0 },
  { args: ['check', '-v', 'near'], code: 80 },
  { args: ['start', '-v', 'vol'], code: 0 },
  { args: ['status', '--json', 'vol'], code: 0 },
  { args: ['stop', '-v', 'vol'], code: 0 },
];

/** Not scanned: the LUKS image (its header holds key slots, by design) and the device node standing for it. */
const isDisk = (path: string): boolean => path.endsWith('.img') || path.endsWith('/dev');

/** A LUKS volume `vol` whose parameter holds the passphrase, and `near`, on the same device, holding its near miss. */
async function setUp(ws: Workspace, p: Passphrase, emulator: Emulator): Promise<FakeSystem> {
  const sys = await installFakeSystem(ws.dir, ws.sysRoot);
  await sys.addDevice(join(ws.devRoot, 'disk0'), await formatLuksImage(join(ws.dir, 'disk0.img'), p.key));
  emulator.putParameter('/luks/vol', p.ssmValue);
  emulator.putParameter('/luks/near', p.encoding === 'base64' ? p.near.toString('base64') : p.near.toString('utf8'));
  const common = { LUKS_DEVICE: '/dev/disk0', SSM_VALUE_ENCODING: p.encoding };
  // Each its own mapping and mount point: two configs sharing one fail check's config step (78).
  await writeVolumeConfig(ws, 'vol', { ...common, LUKS_DEVICE_MAP: 'vol', LUKS_DEVICE_MOUNT_POINT: join(ws.dir, 'srv', 'vol'), SSM_PATH: '/luks/vol' });
  await writeVolumeConfig(ws, 'near', { ...common, LUKS_DEVICE_MAP: 'near', LUKS_DEVICE_MOUNT_POINT: join(ws.dir, 'srv', 'near'), SSM_PATH: '/luks/near' });
  return sys;
}

describe.skipIf(!canRunCryptsetup)('secret scan', () => {
  // Five passphrases, each running eight CLI steps at once: on 2 loaded cores one can take well over 30 s.
  it.concurrent.for(passphrases())('$name: absent from every output, run file, record and child argv/env', { timeout: 180_000 }, async (p, { expect }) => {
    const emulator = await startEmulator();
    const ws = await createWorkspace(`scan-${p.name}`);
    try {
      const sys = await setUp(ws, p, emulator);
      const env = volumeEnv(ws, emulator, { binDir: sys.bin, extra: { LUKS_SSM_MOUNTINFO: sys.mountinfo } });
      const haystacks: Haystack[] = [];
      const results: Array<{ args: string; code: number | null }> = [];
      for (const step of SCRIPT) {
        const result: CliResult = await runCli(step.args, { env, timeoutMs: 90_000 });
        results.push({ args: step.args.join(' '), code: result.code });
        haystacks.push({ name: `stdout of ${step.args.join(' ')}`, bytes: result.stdoutBytes }, { name: `stderr of ${step.args.join(' ')}`, bytes: result.stderrBytes });
        // Files are read after every step: the run dir's unlock record exists only between start and stop.
        haystacks.push(...(await filesUnder(ws.dir, isDisk)));
      }
      expect(results).toEqual(SCRIPT.map((s) => ({ args: s.args.join(' '), code: s.code })));

      const scanned = new Set(haystacks.map((h) => h.name));
      for (const expected of [join(ws.runDir, 'vol.json'), join(sys.state, 'calls.log'), join(sys.state, 'env.log'), join(sys.state, 'mountinfo')]) {
        expect(scanned, `${expected} was scanned`).toContain(expected);
      }
      // Three keys went to cryptsetup (check, check near, start), each whole and on stdin: argv holds only names.
      const opens = (await sys.calls()).filter((c) => c.args[0] === 'open');
      expect(opens.map((c) => [c.args.at(-1), c.stdinBytes])).toEqual([
        [join(ws.devRoot, 'disk0'), p.key.length],
        [join(ws.devRoot, 'disk0'), p.near.length],
        ['vol', p.key.length],
      ]);
      expect(findLeaks([p.key, p.near], haystacks)).toEqual([]);
    } finally {
      await emulator.stop();
      await ws.cleanup();
    }
  });

  it.for(passphrases())('$name: the scan finds a planted copy in any form a leak would take', async (p, { expect }) => {
    const ws = await createWorkspace(`plant-${p.name}`);
    try {
      const text = p.key.toString('utf8');
      const planted: Array<[string, Buffer]> = [
        ['raw bytes', Buffer.concat([Buffer.from('prefix '), p.key, Buffer.from(' suffix')])],
        ['a 16-byte piece', Buffer.from(p.key.subarray(p.key.length - 16))],
        ['base64 (from byte 0)', Buffer.from(`{"value":"${p.key.toString('base64')}"}`)],
        ['base64 (from byte 1)', Buffer.from(p.key.subarray(1).toString('base64'))],
        ['hex', Buffer.from(p.key.toString('hex'))],
        ['byte list', Buffer.from(JSON.stringify(p.key))],
      ];
      planted.push([p.encoding === 'text' ? 'JSON-escaped' : 'UTF-8 decoded (lossy)', Buffer.from(JSON.stringify({ msg: `key ${text}` }))]);
      const found = findLeaks([p.key], planted.map(([name, bytes]) => ({ name, bytes })));
      expect(found.map((l) => l.haystack)).toEqual(planted.map(([name]) => name));

      await writeFile(join(ws.home, 'planted'), p.key);
      expect(findLeaks([p.key], await filesUnder(ws.dir, isDisk))).toEqual([{ haystack: join(ws.home, 'planted'), form: 'raw bytes', offset: 0 }]);
    } finally {
      await ws.cleanup();
    }
  });
});
