// #10 item 12: `enroll --format --mkfs` run again on an enrolled, closed volume must never make a filesystem over
// data. The real luksFormat/luksDump run on an image file; open, close and mkfs are faked (no device-mapper here).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, writeSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { makeFilesystemOnVolume } from '../../src/lifecycle/mkfs.ts';
import type { LifecycleDeps } from '../../src/lifecycle/steps.ts';
import { Secret } from '../../src/secret/secret.ts';
import { createRunner, DEFAULT_EXEC_PATH } from '../../src/exec/run.ts';
import type { Runner, VolumeConfig } from '../../src/types.ts';
import { createFakeClock, createRecordingLogger } from '../aws/fakes.ts';
import { canRunCryptsetup } from '../cli/luks-image.ts';

/** The opened mapping, as probeDevice reads it: a file of random bytes (what decrypted zeros look like). */
const mapped: { file: string | undefined } = { file: undefined };
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open = ((path: string, ...rest: never[]) => real.open(path === '/dev/mapper/data' && mapped.file ? mapped.file : path, ...rest)) as typeof real.open;
  return { ...real, open, default: { ...real, open } };
});

const KEY = 'stored passphrase';
/** LUKS2's default data offset: 16 MiB of header and key slots. */
const DATA_OFFSET = 16 * 1024 * 1024;

let dir: string;
let image: string;
let calls: string[][];

function deps(): LifecycleDeps {
  const real = createRunner();
  const run: Runner = async (file, args, options) => {
    calls.push([file, ...args]);
    if (file === 'cryptsetup' && (args[0] === 'open' || args[0] === 'close')) return { exitCode: 0, stdout: '', stderr: '', timedOut: false };
    if (file === 'cryptsetup' && args[0] === 'status') return { exitCode: 4, stdout: '', stderr: '', timedOut: false };
    // The mapping as wipefs would see it: no signature (a database writing the raw device, an fs wipefs doesn't know).
    if (file === 'wipefs') return { exitCode: 0, stdout: '', stderr: '', timedOut: false };
    if (file === 'mkfs') return { exitCode: 0, stdout: '', stderr: '', timedOut: false };
    return real(file, args, options);
  };
  return { run, clock: createFakeClock(), log: createRecordingLogger(), env: {}, hostname: 'test', acquireLock: async () => ({ release: async () => {} }), acquireVolumeLock: async () => ({ release: async () => {} }), acquireDeviceLock: async () => ({ release: async () => {} }) };
}

const config = { volume: 'data', mapName: 'data', fsType: 'ext4' } as VolumeConfig;

describe.skipIf(!canRunCryptsetup)('makeFilesystemOnVolume on a volume the stored key already opens', () => {
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'luks-ssm-mkfs-'));
    image = join(dir, 'disk.img');
    writeFileSync(image, '');
    truncateSync(image, 32 * 1024 * 1024);
    execFileSync('cryptsetup', ['luksFormat', '-q', '--type', 'luks2', '--pbkdf', 'pbkdf2', '--pbkdf-force-iterations', '1000', '--key-file=-', image], {
      input: KEY, env: { PATH: DEFAULT_EXEC_PATH }, timeout: 60_000,
    });
    mapped.file = join(dir, 'mapped.img');
    writeFileSync(mapped.file, randomBytes(1024 * 1024));
    calls = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses when its data segment holds anything, even with no signature wipefs knows', async () => {
    const fd = openSync(image, 'r+');
    writeSync(fd, Buffer.from('rows of a database that writes the raw device'), 0, undefined, DATA_OFFSET + 4096);
    closeSync(fd);
    const report = { say: (line: string) => void line, changed: false };
    const error = await makeFilesystemOnVolume(deps(), config, image, Secret.copyOf(Buffer.from(KEY)), report).then(() => undefined, (e: unknown) => e);
    expect(calls.filter((c) => c[0] === 'mkfs')).toEqual([]);
    expect(error).toMatchObject({ kind: 'MOUNT_REFUSED', exitCode: 82 });
    expect((error as Error).message).toBe(`${image} already opens with the stored key and its data area is not empty, refusing to make a filesystem on /dev/mapper/data`);
  });

  it('makes the filesystem when nothing was ever written through the mapping (an interrupted enroll resumed)', async () => {
    const lines: string[] = [];
    const report = { say: (line: string) => void lines.push(line), changed: false };
    await makeFilesystemOnVolume(deps(), config, image, Secret.copyOf(Buffer.from(KEY)), report);
    expect(calls.filter((c) => c[0] === 'mkfs')).toEqual([['mkfs', '-t', 'ext4', '--', '/dev/mapper/data']]);
    expect(lines).toEqual(['made a ext4 filesystem on /dev/mapper/data']);
  });
});
