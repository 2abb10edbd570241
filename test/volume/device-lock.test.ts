// The device lock with the real flock(1): named by the device's number, so every path to one disk finds the same lock.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireDeviceLock, deviceLockName, deviceLockNameOf } from '../../src/volume/device-lock.ts';
import { acquireRunLock } from '../../src/volume/run-lock.ts';
import type { Runner } from '../../src/types.ts';
import { createRunner } from '../../src/exec/run.ts';
import { readFileSync } from 'node:fs';

let base: string;
let dir: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'luks-ssm-devlock-'));
  dir = join(base, 'run');
  mkdirSync(join(base, 'dev', 'disk', 'by-id'), { recursive: true });
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

function node(name: string, minor: number): string {
  const path = join(base, 'dev', name);
  // Major 240: local use, no driver (an open creates no device, as a loop major's would).
  execFileSync('mknod', [path, 'b', '240', String(minor)]);
  return path;
}

const lockFor = (device: string, holder: string, waitMs: number) =>
  acquireDeviceLock({ dir, device, holder, deadline: Date.now() + waitMs, now: Date.now });

describe('deviceLockName', () => {
  it('is the same for two nodes of one device number and differs for another number', () => {
    const a = node('nvme1n1', 231);
    const copy = node('xvdf', 231);
    const other = node('nvme2n1', 232);
    expect(deviceLockName(statSync(a))).toBe('lock.device.240:231');
    expect(deviceLockName(statSync(copy))).toBe('lock.device.240:231');
    expect(deviceLockName(statSync(other))).toBe('lock.device.240:232');
  });

  it('names an image file by its inode', () => {
    const image = join(base, 'disk.img');
    writeFileSync(image, '');
    const info = statSync(image);
    expect(deviceLockName(info)).toBe(`lock.file.${info.dev}.${info.ino}`);
  });
});

describe('acquireDeviceLock', () => {
  it('makes a run reaching the disk by another name give up with LOCKED, naming the holder volume, its lock and the device', async () => {
    const disk = node('nvme1n1', 231);
    const byId = join(base, 'dev', 'disk', 'by-id', 'nvme-Amazon_Elastic_Block_Store_vol0');
    symlinkSync('../../nvme1n1', byId);
    const first = await lockFor(disk, 'data', 1000);
    try {
      const error = await lockFor(byId, 'data-by-id', 300).catch((e: unknown) => e);
      expect(error).toMatchObject({
        kind: 'LOCKED',
        message: `Another luks-ssm run (volume data) holds ${join(dir, 'lock.device.240:231')}, the lock of device ${byId} (240:231); gave up after 0.3 s`,
        hint: expect.stringContaining('systemctl status luks-ssm@data'),
      });
    } finally {
      await first.release();
    }
    const second = await lockFor(byId, 'data-by-id', 1000);
    await second.release();
  });

  it('lets runs on two different disks go ahead side by side', async () => {
    const a = await lockFor(node('nvme1n1', 231), 'a', 1000);
    const b = await lockFor(node('nvme2n1', 232), 'b', 300);
    await b.release();
    await a.release();
  });

  it('keeps a lock taken early (with the volume locks) when it is this device\'s: no process, the holder named', async () => {
    const disk = node('nvme1n1', 231);
    const name = (await deviceLockNameOf(disk))!;
    expect(name).toBe('lock.device.240:231');
    const early = { name, lock: await acquireRunLock({ dir, name, timeoutMs: 1000 }) };
    const calls: string[] = [];
    const real = createRunner();
    const run: Runner = (file, args, options) => (calls.push(file), real(file, args, options));
    const lock = await acquireDeviceLock({ dir, device: disk, holder: 'data', deadline: Date.now() + 1000, now: Date.now, run, early });
    expect(lock).toBe(early.lock);
    expect(calls).toEqual([]);
    expect(readFileSync(join(dir, name), 'utf8')).toBe('data\n');
    await lock.release();
  });

  it('lets go of an early lock of another device (the path now leads elsewhere) and takes this one\'s', async () => {
    const before = node('nvme1n1', 231);
    const now = node('nvme2n1', 232);
    const early = { name: (await deviceLockNameOf(before))!, lock: await acquireRunLock({ dir, name: 'lock.device.240:231', timeoutMs: 1000 }) };
    const lock = await acquireDeviceLock({ dir, device: now, holder: 'data', deadline: Date.now() + 1000, now: Date.now, early });
    // The early one is free again (another run can take it), this device's is held.
    const other = await lockFor(before, 'other', 300);
    await other.release();
    await expect(lockFor(now, 'other', 300)).rejects.toMatchObject({ kind: 'LOCKED' });
    await lock.release();
  });

  it('says DEVICE_MISSING when the device went away before it could be locked', async () => {
    await expect(lockFor(join(base, 'dev', 'gone'), 'data', 300)).rejects.toMatchObject({
      kind: 'DEVICE_MISSING',
      message: `Failed to lock device ${join(base, 'dev', 'gone')}: it is gone`,
    });
  });
});
