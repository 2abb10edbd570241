// withLock: the volume's and the device's locks for the whole lifecycle verb, the host lock only around each cryptsetup call.
import { describe, expect, it } from 'vitest';
import { resolveLifecycleDevice, withLock, type LifecycleDeps } from '../../src/lifecycle/steps.ts';
import { createFakeClock, createRecordingLogger } from '../aws/fakes.ts';
import type { VolumeConfig } from '../../src/types.ts';
import { createFakeSystem, fakeConfig, withRestoredCopy } from '../support/fake-system.ts';

const ok = { exitCode: 0, stdout: '', stderr: '', timedOut: false };

function recordingDeps(events: string[]): LifecycleDeps {
  return {
    run: async (file, args) => {
      events.push(`${file} ${args[0]}`);
      return ok;
    },
    clock: createFakeClock(),
    log: createRecordingLogger(),
    env: {},
    hostname: 'test',
    acquireLock: async () => {
      events.push('host lock');
      return { release: async () => void events.push('host release') };
    },
    acquireVolumeLock: async (config) => {
      events.push(`volume lock ${config.volume}`);
      return { release: async () => void events.push('volume release') };
    },
    acquireDeviceLock: async (device, holder) => {
      events.push(`device lock ${device} for ${holder}`);
      return { release: async () => void events.push('device release') };
    },
  };
}

describe('withLock', () => {
  it('holds the volume and device locks throughout (in that order) and the host lock only around cryptsetup, not while waiting on other work', async () => {
    const events: string[] = [];
    const config = { volume: 'data', timeoutSec: 90 } as VolumeConfig;
    const result = await withLock(recordingDeps(events), config, '/dev/sdb', async (locked) => {
      events.push('fetch key from AWS');
      await locked.run('cryptsetup', ['luksAddKey', '/dev/sdb'], {});
      await locked.run('blkid', ['/dev/sdb'], {});
      await locked.run('cryptsetup', ['open', '--test-passphrase', '/dev/sdb'], {});
      return 'done';
    });
    expect(result).toBe('done');
    expect(events).toEqual([
      'volume lock data',
      'device lock /dev/sdb for data',
      'fetch key from AWS',
      'host lock', 'cryptsetup luksAddKey', 'host release',
      'blkid /dev/sdb',
      'host lock', 'cryptsetup open', 'host release',
      'device release',
      'volume release',
    ]);
  });

  it('releases the volume and device locks when the verb fails', async () => {
    const events: string[] = [];
    await expect(withLock(recordingDeps(events), { volume: 'data', timeoutSec: 90 } as VolumeConfig, '/dev/sdb', async () => {
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(events).toEqual(['volume lock data', 'device lock /dev/sdb for data', 'device release', 'volume release']);
  });

  it('releases the volume lock when the device lock does not come in time', async () => {
    const events: string[] = [];
    const deps = recordingDeps(events);
    const locked = new Error('Another luks-ssm run (volume other) holds …/lock.device.259:1');
    await expect(withLock({ ...deps, acquireDeviceLock: async () => { throw locked; } }, { volume: 'data', timeoutSec: 90 } as VolumeConfig, '/dev/sdb', async () => {
      events.push('verb ran');
    })).rejects.toBe(locked);
    expect(events).toEqual(['volume lock data', 'volume release']);
  });

  it('each cryptsetup call may wait TIMEOUT_SEC for the host lock, even when the verb has already run longer than that', async () => {
    const deps = recordingDeps([]);
    const clock = createFakeClock();
    const waits: number[] = [];
    const config = { volume: 'data', timeoutSec: 15 } as VolumeConfig;
    await withLock({ ...deps, clock, acquireLock: async (deadline) => {
      waits.push(deadline - clock.now());
      return { release: async () => {} };
    } }, config, '/dev/sdb', async (locked) => {
      await locked.run('cryptsetup', ['luksAddKey', '/dev/sdb'], {});
      clock.advance(60_000); // AWS retries and argon2 slots: the verb is past its 15 s
      await locked.run('cryptsetup', ['luksKillSlot', '/dev/sdb', '0'], {});
    });
    expect(waits).toEqual([15_000, 15_000]);
  });
});

describe('resolveLifecycleDevice', () => {
  it('refuses with 89 when a second disk carries the UUID LUKS_DEVICE names: a key slot is never written to a restored copy', async () => {
    const sys = createFakeSystem(Buffer.from('k'));
    try {
      const uuid = '5f2c0c4e-7d4b-4b8e-9a57-1d2f3e4a5b6c';
      const deps = { ...recordingDeps([]), sysRoot: sys.sysRoot, ...withRestoredCopy(sys, uuid) };
      const config = fakeConfig(sys, { device: `UUID=${uuid}` });
      await expect(resolveLifecycleDevice(deps, config)).rejects.toMatchObject({ exitCode: 89, message: expect.stringContaining('names 2 disks') });
      const alone = fakeConfig(sys, { device: sys.device });
      await expect(resolveLifecycleDevice(deps, alone)).resolves.toBe(sys.device);
    } finally {
      sys.cleanup();
    }
  });
});
