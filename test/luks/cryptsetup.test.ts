// cryptsetup verbs against a recording fake: the key goes in on stdin only, exit codes become the right errors.
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRunner } from '../../src/exec/run.ts';
import { UnlockError } from '../../src/errors.ts';
import {
  closeLuks,
  isLuks,
  luksUuid,
  mappingStatus,
  openLuks,
  testPassphrase,
} from '../../src/luks/cryptsetup.ts';
import { Secret } from '../../src/secret/secret.ts';
import type { Runner } from '../../src/types.ts';
import { createFakePrograms, type FakePrograms } from '../exec/fake-programs.ts';
import { addDmDevice, createSysfs } from '../support/fake-sysfs.ts';

const KEY = 'correct horse\n';
const keySecret = (): Secret => Secret.copyOf(Buffer.from(KEY));

let fakes: FakePrograms;
let run: Runner;
beforeEach(async () => {
  fakes = await createFakePrograms(['cryptsetup']);
  run = createRunner({ path: fakes.path });
});
afterEach(async () => {
  await fakes.cleanup();
});

async function errorOf(promise: Promise<unknown>): Promise<UnlockError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnlockError);
  const unlockError = error as UnlockError;
  expect(`${unlockError.message} ${unlockError.hint ?? ''}`).not.toContain('correct horse');
  return unlockError;
}

describe('openLuks', () => {
  it('passes the exact key bytes on stdin and never in argv or env', async () => {
    await openLuks(run, '/dev/nvme1n1', 'data', keySecret());
    const calls = await fakes.calls('cryptsetup');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.argv).toEqual(['open', '--type', 'luks', '--key-file=-', '--', '/dev/nvme1n1', 'data']);
    expect(calls[0]!.stdin.toString('utf8')).toBe(KEY);
    expect(calls[0]!.argv.join(' ')).not.toContain('correct horse');
    expect(calls[0]!.env).not.toContain('correct horse');
  });

  const failed = 'Failed to open /dev/nvme1n1 as data';
  it.each([
    {
      exit: 2,
      stderr: 'No key available with this passphrase.',
      kind: 'WRONG_PASSPHRASE',
      message: 'No keyslot of /dev/nvme1n1 opens with the passphrase from SSM',
    },
    {
      exit: 5,
      stderr: 'Device data already exists.',
      kind: 'SYSTEM',
      message: `${failed}: device busy or mapping already exists (Device data already exists.)`,
    },
    {
      exit: 4,
      stderr: 'Device /dev/nvme1n1 does not exist or access denied.',
      kind: 'SYSTEM',
      message: `${failed}: device not accessible (Device /dev/nvme1n1 does not exist or access denied.)`,
    },
    {
      exit: 1,
      stderr: 'Device /dev/nvme1n1 is not a valid LUKS device.',
      kind: 'NOT_LUKS',
      message: '/dev/nvme1n1 is not a LUKS volume, refusing.',
    },
    {
      exit: 1,
      stderr: 'Cannot initialize device-mapper. Is dm_mod kernel module loaded?\nCannot use device data.',
      kind: 'SYSTEM',
      message: `${failed}: Cannot initialize device-mapper. Is dm_mod kernel module loaded?`,
    },
  ])('maps exit $exit ($stderr) to $kind', async ({ exit, stderr, kind, message }) => {
    await fakes.script('cryptsetup', { exit, stderr: `${stderr}\n` });
    const error = await errorOf(openLuks(run, '/dev/nvme1n1', 'data', keySecret()));
    expect(error.kind).toBe(kind);
    expect(error.message).toBe(message);
  });

  it('gives up with TIMEOUT when cryptsetup outlives the deadline', async () => {
    await fakes.script('cryptsetup', { sleepSec: 30 });
    const error = await errorOf(openLuks(run, '/dev/nvme1n1', 'data', keySecret(), { timeoutMs: 200 }));
    expect(error.kind).toBe('TIMEOUT');
    expect(error.message).toBe('Failed to open /dev/nvme1n1 as data: cryptsetup did not finish in time');
  });

  it('refuses a wiped secret before starting cryptsetup', async () => {
    const secret = keySecret();
    secret.wipe();
    await expect(openLuks(run, '/dev/nvme1n1', 'data', secret)).rejects.toThrow('Secret used after wipe()');
    expect(await fakes.calls('cryptsetup')).toEqual([]);
  });
});

describe('testPassphrase', () => {
  it('is true on exit 0 and sends the key on stdin with --test-passphrase', async () => {
    expect(await testPassphrase(run, '/img', keySecret())).toBe(true);
    const [call] = await fakes.calls('cryptsetup');
    expect(call!.argv).toEqual(['open', '--test-passphrase', '--type', 'luks', '--key-file=-', '--', '/img']);
    expect(call!.stdin.toString('utf8')).toBe(KEY);
  });

  it('is false on exit 2 (no key slot opens)', async () => {
    await fakes.script('cryptsetup', { exit: 2, stderr: 'No key available with this passphrase.\n' });
    expect(await testPassphrase(run, '/img', keySecret())).toBe(false);
  });

  it('throws for other failures', async () => {
    await fakes.script('cryptsetup', { exit: 1, stderr: 'Device /img is not a valid LUKS device.\n' });
    expect((await errorOf(testPassphrase(run, '/img', keySecret()))).kind).toBe('NOT_LUKS');
  });
});

describe('isLuks and luksUuid', () => {
  it('isLuks is true on 0, false on 1, and throws SYSTEM when the device is not accessible', async () => {
    expect(await isLuks(run, '/dev/x')).toBe(true);
    await fakes.script('cryptsetup', { exit: 1 });
    expect(await isLuks(run, '/dev/x')).toBe(false);
    await fakes.script('cryptsetup', { exit: 4, stderr: 'Device /dev/x does not exist or access denied.\n' });
    expect((await errorOf(isLuks(run, '/dev/x'))).kind).toBe('SYSTEM');
    expect((await fakes.calls('cryptsetup'))[0]!.argv).toEqual(['isLuks', '--', '/dev/x']);
  });

  it('isLuks keeps to the time it is given, the magic read and cryptsetup together (a hung device)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'luks-ssm-isluks-'));
    // A FIFO with no writer: opening it for reading blocks, as a read of a hung disk does.
    const hung = join(dir, 'hung');
    execFileSync('mkfifo', [hung]);
    const given: Array<number | undefined> = [];
    const recording: Runner = (file, args, options) => (given.push(options?.timeoutMs), run(file, args, options));
    try {
      // The magic read gets at most half of the 4 s, cryptsetup what is left (over 1.9 s: room for a loaded host).
      expect(await isLuks(recording, hung, { timeoutMs: 4_000 })).toBe(true);
      expect(given).toHaveLength(1);
      expect(given[0]).toBeLessThanOrEqual(2_100);
    } finally {
      closeSync(openSync(hung, constants.O_WRONLY | constants.O_NONBLOCK));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('luksUuid returns the trimmed UUID, NOT_LUKS for a non-LUKS device', async () => {
    await fakes.script('cryptsetup', { stdout: '6a787a1d-217c-46d9-9c54-7c6b240c675a\n' });
    expect(await luksUuid(run, '/dev/x')).toBe('6a787a1d-217c-46d9-9c54-7c6b240c675a');
    await fakes.script('cryptsetup', { exit: 1, stdout: '', stderr: 'Device /dev/x is not a valid LUKS device.\n' });
    expect((await errorOf(luksUuid(run, '/dev/x'))).kind).toBe('NOT_LUKS');
  });
});

describe('closeLuks', () => {
  it('closes, and treats "not active" (exit 4) as already closed', async () => {
    await closeLuks(run, 'data');
    await fakes.script('cryptsetup', { exit: 4, stderr: 'Device data is not active.\n' });
    await closeLuks(run, 'data');
    expect((await fakes.calls('cryptsetup')).map((c) => c.argv)).toEqual([
      ['close', '--', 'data'],
      ['close', '--', 'data'],
    ]);
  });

  it('reports BUSY when the mapping is still in use', async () => {
    await fakes.script('cryptsetup', { exit: 5, stderr: 'Device data is still in use.\n' });
    const error = await errorOf(closeLuks(run, 'data'));
    expect(error.kind).toBe('BUSY');
    expect(error.message).toBe('Failed to close data: it is still in use');
  });
});

describe('mappingStatus', () => {
  let sysDir: string;
  let sysRoot: string;
  beforeEach(() => {
    sysDir = mkdtempSync(join(tmpdir(), 'luks-ssm-sysfs-'));
    sysRoot = createSysfs(join(sysDir, 'sys'));
  });
  afterEach(() => rmSync(sysDir, { recursive: true, force: true }));

  it('parses device and type of an active mapping', async () => {
    const stdout = [
      '/dev/mapper/data is active and is in use.',
      '  type:    LUKS2',
      '  cipher:  aes-xts-plain64',
      '  device:  /dev/nvme1n1',
      '  mode:    read/write',
      '',
    ].join('\n');
    await fakes.script('cryptsetup', { stdout });
    addDmDevice(sysRoot, 'data');
    expect(await mappingStatus(run, 'data', { sysRoot })).toEqual({ active: true, type: 'LUKS2', device: '/dev/nvme1n1' });
    expect((await fakes.calls('cryptsetup'))[0]!.argv).toEqual(['status', '--', 'data']);
  });

  it('is inactive on exit 4 and throws on other failures', async () => {
    addDmDevice(sysRoot, 'data');
    await fakes.script('cryptsetup', { exit: 4, stdout: '/dev/mapper/data is inactive.\n' });
    expect(await mappingStatus(run, 'data', { sysRoot })).toEqual({ active: false });
    await fakes.script('cryptsetup', { exit: 1, stderr: 'Cannot initialize device-mapper.\n' });
    expect((await errorOf(mappingStatus(run, 'data', { sysRoot }))).message).toBe(
      'Failed to read the status of data: Cannot initialize device-mapper.',
    );
  });

  it('starts no cryptsetup when the kernel has no device-mapper device of that name (every boot)', async () => {
    addDmDevice(sysRoot, 'data1');
    addDmDevice(sysRoot, 'vg-data', 'LVM-abc');
    await fakes.script('cryptsetup', { exit: 1, stderr: 'must not be asked\n' });
    expect(await mappingStatus(run, 'data', { sysRoot })).toEqual({ active: false });
    expect(await fakes.calls('cryptsetup')).toEqual([]);
  });

  it('asks cryptsetup when a device-mapper device has the name, crypt or not (it decides, as before)', async () => {
    addDmDevice(sysRoot, 'data', 'LVM-not-crypt');
    await fakes.script('cryptsetup', { exit: 4, stdout: '/dev/mapper/data is inactive.\n' });
    expect(await mappingStatus(run, 'data', { sysRoot })).toEqual({ active: false });
    expect((await fakes.calls('cryptsetup')).map((c) => c.argv)).toEqual([['status', '--', 'data']]);
  });

  it('asks cryptsetup when sysfs cannot tell (no /sys/block, as in some containers)', async () => {
    await fakes.script('cryptsetup', { stdout: '/dev/mapper/data is active.\n  type:    LUKS2\n  device:  /dev/vdb\n' });
    expect(await mappingStatus(run, 'data', { sysRoot: join(sysDir, 'no-sysfs') })).toEqual({ active: true, type: 'LUKS2', device: '/dev/vdb' });
    expect((await fakes.calls('cryptsetup')).map((c) => c.argv)).toEqual([['status', '--', 'data']]);
  });
});
