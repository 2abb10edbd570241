// bus.ts against a real dbus-daemon and a fake systemd Manager: answers, D-Bus errors, and every bounded wait.
import { execFile } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectSystemd, type SystemdBus } from '../../src/systemd/bus.ts';
import { startPrivateSocketFake } from './fake-private-socket.ts';
import { DBUS_DAEMON, startBusDaemon, startFakeSystemd, type BusDaemon, type FakeSystemd } from './fake-systemd.ts';

const ACTIVE_SINCE_US = 1_700_000_000_123_456n;
const UNITS = [
  { id: 'postgresql.service', activeState: 'active', subState: 'running', activeEnterTimestamp: ACTIVE_SINCE_US, after: ['luks-ssm@data.service', 'network.target'], requires: ['luks-ssm@data.service'] },
  { id: 'never.service', activeEnterTimestamp: 2n ** 64n - 1n },
  { id: 'session-4.scope', activeState: 'active', subState: 'running' },
];
const PIDS = { 4242: 'session-4.scope', 77: 'denied' };

let scratch = '';
const opened: SystemdBus[] = [];
afterEach(() => opened.splice(0).forEach((bus) => bus.close()));
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'luks-ssm-bus-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function connect(address: string, opts: { callTimeoutMs?: number; reloadTimeoutMs?: number } = {}): Promise<SystemdBus> {
  const bus = await connectSystemd({ address, timeoutMs: 2_000, ...opts });
  expect(bus).toBeDefined();
  opened.push(bus!);
  return bus!;
}

async function timed<T>(work: Promise<T>): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const start = performance.now();
  const [result] = await Promise.allSettled([work]);
  return { ms: performance.now() - start, result: result! };
}

describe.skipIf(!DBUS_DAEMON)('connectSystemd with a fake systemd on a real dbus-daemon', () => {
  let daemon: BusDaemon;
  let fake: FakeSystemd;

  beforeAll(async () => {
    daemon = await startBusDaemon();
    fake = await startFakeSystemd(daemon.address, { units: UNITS, pids: PIDS, hangPids: [999], hangReload: true });
  });
  afterAll(async () => {
    fake?.close();
    await daemon?.stop();
  });

  it('reads a unit state, turning the BigInt microsecond timestamp into a Date', async () => {
    const bus = await connect(daemon.address);
    const state = await bus.unitState('postgresql.service');
    expect(state).toEqual({ loadState: 'loaded', activeState: 'active', subState: 'running', activeSince: new Date(1_700_000_000_123) });
    expect(() => JSON.stringify(state)).not.toThrow();
    expect((await bus.unitState('never.service')).activeSince).toBeUndefined();
    expect(await bus.unitState('missing.service')).toMatchObject({ loadState: 'not-found', activeState: 'inactive' });
  });

  it('reads dependency lists', async () => {
    const bus = await connect(daemon.address);
    expect(await bus.unitDependencies('postgresql.service', 'After')).toEqual(['luks-ssm@data.service', 'network.target']);
    expect(await bus.unitDependencies('postgresql.service', 'Requires')).toEqual(['luks-ssm@data.service']);
  });

  it('names the unit of a pid, maps NoUnitForPID to undefined, and reports access denied as PERMISSION', async () => {
    const bus = await connect(daemon.address);
    expect(await bus.getUnitByPid(4242)).toBe('session-4.scope');
    expect(await bus.getUnitByPid(31337)).toBeUndefined();
    await expect(bus.getUnitByPid(77)).rejects.toMatchObject({
      kind: 'PERMISSION',
      message: 'Failed to call org.freedesktop.systemd1.Manager.GetUnitByPID: Access denied (org.freedesktop.DBus.Error.AccessDenied)',
    });
  });

  it('enables and disables unit files as systemctl would (not runtime, not forced) and returns the changes', async () => {
    const bus = await connect(daemon.address);
    expect(await bus.enableUnitFiles(['luks-ssm@data.service'])).toEqual({
      carriesInstallInfo: true,
      changed: [['symlink', '/etc/systemd/system/luks-ssm.target.wants/luks-ssm@data.service', '/usr/lib/systemd/system/luks-ssm@data.service']],
    });
    expect(await bus.disableUnitFiles(['luks-ssm@data.service'])).toEqual({ changed: [['unlink', '/etc/systemd/system/luks-ssm.target.wants/luks-ssm@data.service', '']] });
    expect(fake.calls).toContainEqual(['EnableUnitFiles', ['luks-ssm@data.service'], false, false]);
    expect(fake.calls).toContainEqual(['DisableUnitFiles', ['luks-ssm@data.service'], false]);
  });

  it('rejects a call that never gets an answer after callTimeoutMs, and the connection stays usable', async () => {
    const bus = await connect(daemon.address, { callTimeoutMs: 400 });
    const { ms, result } = await timed(bus.getUnitByPid(999));
    expect(result.status).toBe('rejected');
    expect((result as PromiseRejectedResult).reason).toMatchObject({
      kind: 'SYSTEM', retryable: true, message: 'Failed to call org.freedesktop.systemd1.Manager.GetUnitByPID: no answer within 400 ms',
    });
    expect(ms).toBeGreaterThanOrEqual(390);
    expect(ms).toBeLessThan(2_000);
    expect(await bus.getUnitByPid(4242)).toBe('session-4.scope');
  });

  it('bounds Reload by its own, longer timeout', async () => {
    const bus = await connect(daemon.address, { callTimeoutMs: 100, reloadTimeoutMs: 600 });
    const { ms, result } = await timed(bus.reload());
    expect((result as PromiseRejectedResult).reason?.message).toBe('Failed to call org.freedesktop.systemd1.Manager.Reload: no answer within 600 ms');
    expect(ms).toBeGreaterThanOrEqual(590);
  });

  it('connects through the second address of a list when the first has no socket', async () => {
    const bus = await connect(`unix:path=${join(scratch, 'missing')};${daemon.address}`);
    expect((await bus.unitState('postgresql.service')).activeState).toBe('active');
  });
});

describe.skipIf(!DBUS_DAEMON)('connectSystemd when the bus goes away', () => {
  it('rejects a pending call as soon as the bus dies, and later calls at once', async () => {
    const daemon = await startBusDaemon();
    const fake = await startFakeSystemd(daemon.address, { units: UNITS, pids: PIDS, hangPids: [999] });
    try {
      const bus = await connect(daemon.address, { callTimeoutMs: 20_000 });
      const pending = timed(bus.getUnitByPid(999));
      await new Promise((resolve) => setTimeout(resolve, 100));
      daemon.process.kill('SIGKILL');
      const { ms, result } = await pending;
      expect((result as PromiseRejectedResult).reason).toMatchObject({ kind: 'SYSTEM', retryable: true });
      expect((result as PromiseRejectedResult).reason.message).toBe('Failed to call org.freedesktop.systemd1.Manager.GetUnitByPID: connection to the service manager closed');
      expect(ms).toBeLessThan(5_000);
      const later = await timed(bus.unitState('postgresql.service'));
      expect(later.result.status).toBe('rejected');
      expect(later.ms).toBeLessThan(100);
    } finally {
      fake.close();
      await daemon.stop();
    }
  });
});

describe.skipIf(!DBUS_DAEMON)('connectSystemd on a bus without systemd', () => {
  it('counts it as no bus, and tries the next address', async () => {
    const empty = await startBusDaemon();
    const daemon = await startBusDaemon();
    const fake = await startFakeSystemd(daemon.address, { units: UNITS, pids: PIDS });
    try {
      const { ms, result } = await timed(connectSystemd({ address: empty.address, timeoutMs: 2_000 }));
      expect(result).toEqual({ status: 'fulfilled', value: undefined });
      expect(ms).toBeLessThan(1_000);
      const bus = await connect(`${empty.address};${daemon.address}`);
      expect((await bus.unitState('postgresql.service')).activeState).toBe('active');
    } finally {
      opened.splice(0).forEach((bus) => bus.close());
      fake.close();
      await Promise.all([empty.stop(), daemon.stop()]);
    }
  });
});

describe('connectSystemd without a bus', () => {
  it('resolves undefined at once when no socket exists', async () => {
    const { ms, result } = await timed(connectSystemd({ address: `unix:path=${join(scratch, 'none')};unix:path=${join(scratch, 'none2')}`, timeoutMs: 5_000 }));
    expect(result).toEqual({ status: 'fulfilled', value: undefined });
    expect(ms).toBeLessThan(1_000);
  });

  it('resolves undefined for an address it cannot parse', async () => {
    expect(await connectSystemd({ address: 'bogus:x=y' })).toBeUndefined();
  });

  it('gives up after timeoutMs on a socket that accepts and never speaks, and closes it', async () => {
    const path = join(scratch, 'silent');
    const sockets: Socket[] = [];
    let closed = 0;
    const server: Server = createServer((socket) => {
      sockets.push(socket);
      socket.resume();
      socket.on('close', () => closed++);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const { ms, result } = await timed(connectSystemd({ address: `unix:path=${path}`, timeoutMs: 300 }));
      expect(result).toEqual({ status: 'fulfilled', value: undefined });
      expect(ms).toBeGreaterThanOrEqual(290);
      expect(ms).toBeLessThan(2_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(sockets).toHaveLength(1);
      expect(closed).toBe(1);
    } finally {
      sockets.forEach((socket) => socket.destroy());
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe.skipIf(!DBUS_DAEMON)('a CLI process using the bus', () => {
  it('exits by itself after close(), with or without a bus, having run to the end', async () => {
    const daemon = await startBusDaemon();
    const fake = await startFakeSystemd(daemon.address, { units: UNITS, pids: PIDS });
    const script = `
      import { connectSystemd } from ${JSON.stringify(new URL('../../src/systemd/bus.ts', import.meta.url).pathname)};
      for (const address of process.argv.slice(1)) {
        const bus = await connectSystemd({ address, timeoutMs: 1000 });
        const state = bus ? (await bus.unitState('postgresql.service')).activeState : 'no bus';
        bus?.close();
        console.log(state);
      }
      console.log('end of main');`;
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, daemon.address, `unix:path=${join(scratch, 'nothing')}`], { timeout: 10_000 });
      expect(stdout).toBe('active\nno bus\nend of main\n');
    } finally {
      fake.close();
      await daemon.stop();
    }
  });
});

describe("systemd's private socket (peer to peer, Hello refused)", () => {
  it('is used after the system bus address fails, and answers calls', async () => {
    const path = join(scratch, 'private');
    const fake = await startPrivateSocketFake(path);
    try {
      const bus = await connect(`unix:path=${join(scratch, 'no-system-bus')};unix:path=${path}`);
      expect(await bus.unitState('app.service')).toEqual({ loadState: 'loaded', activeState: 'active', subState: 'running', activeSince: undefined });
      expect(await bus.getUnitByPid(1234)).toBe('app.service');
      expect(fake.members).toEqual(['Hello', 'Ping', 'LoadUnit', 'GetAll', 'GetUnitByPID', 'Get']);
    } finally {
      opened.splice(0).forEach((bus) => bus.close());
      await fake.close();
    }
  });
});
