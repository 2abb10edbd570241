// A private dbus-daemon and a fake org.freedesktop.systemd1 Manager on it, for bus.ts tests without systemd.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dbus from '@particle/dbus-next';

export const DBUS_DAEMON = ['/usr/bin/dbus-daemon', '/bin/dbus-daemon'].find((file) => existsSync(file));

export interface BusDaemon {
  address: string;
  socketPath: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** dbus-daemon on a socket in a temp dir, with a config that lets the test own org.freedesktop.systemd1. */
export async function startBusDaemon(): Promise<BusDaemon> {
  const dir = await mkdtemp(join(tmpdir(), 'luks-ssm-dbus-'));
  const socketPath = join(dir, 'bus');
  await writeFile(join(dir, 'bus.conf'), `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${socketPath}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <allow own="*"/>
  </policy>
</busconfig>
`);
  const child = spawn(DBUS_DAEMON!, [`--config-file=${join(dir, 'bus.conf')}`, '--nofork', '--nopidfile', '--print-address=1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Kept for the failure message only: as root it always warns that it cannot raise its fd limit.
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('dbus-daemon printed no address within 5 s')), 5_000);
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.split('\n')[0]!.trim());
      }
    });
    child.once('exit', (code) => reject(new Error(`dbus-daemon exited with ${code}: ${stderr}`)));
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    }
    await rm(dir, { recursive: true, force: true });
  };
  return { address, socketPath, process: child, stop };
}

export interface FakeUnit {
  id: string;
  loadState?: string;
  activeState?: string;
  subState?: string;
  activeEnterTimestamp?: bigint;
  after?: string[];
  requires?: string[];
}

export interface FakeSystemd {
  /** Calls received, as [member, ...args]. */
  calls: unknown[][];
  close(): void;
}

export interface FakeOptions {
  units: FakeUnit[];
  pids: Record<number, string>;
  /** PIDs whose GetUnitByPID never answers; a PID mapped to 'denied' answers AccessDenied. */
  hangPids?: number[];
  hangReload?: boolean;
}

const unitPath = (id: string) => `/org/freedesktop/systemd1/unit/${id.replace(/[^A-Za-z0-9]/g, (c) => `_${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}`;

class UnitInterface extends dbus.interface.Interface {
  Id = '';
  LoadState = 'loaded';
  ActiveState = 'inactive';
  SubState = 'dead';
  ActiveEnterTimestamp = 0n;
  After: string[] = [];
  Requires: string[] = [];
}
UnitInterface.configureMembers({
  properties: Object.fromEntries(
    [['Id', 's'], ['LoadState', 's'], ['ActiveState', 's'], ['SubState', 's'], ['ActiveEnterTimestamp', 't'], ['After', 'as'], ['Requires', 'as']]
      .map(([name, signature]) => [name!, { signature: signature!, access: dbus.interface.ACCESS_READ }]),
  ),
});

/** The subset of systemd's Manager luks-ssm calls, backed by the tables in `opts`. */
export async function startFakeSystemd(address: string, opts: FakeOptions): Promise<FakeSystemd> {
  const bus = dbus.sessionBus({ busAddress: address });
  bus.on('error', () => {});
  const calls: unknown[][] = [];
  const exported = new Set<string>();
  const exportUnit = (unit: FakeUnit): string => {
    const path = unitPath(unit.id);
    if (exported.has(path)) return path;
    const iface = new UnitInterface('org.freedesktop.systemd1.Unit');
    Object.assign(iface, {
      Id: unit.id, LoadState: unit.loadState ?? 'loaded', ActiveState: unit.activeState ?? 'inactive', SubState: unit.subState ?? 'dead',
      ActiveEnterTimestamp: unit.activeEnterTimestamp ?? 0n, After: unit.after ?? [], Requires: unit.requires ?? [],
    });
    bus.export(path, iface);
    exported.add(path);
    return path;
  };
  const byId = new Map(opts.units.map((unit) => [unit.id, unit]));
  const never = () => new Promise<never>(() => {});

  class Manager extends dbus.interface.Interface {
    LoadUnit(name: string) {
      calls.push(['LoadUnit', name]);
      return exportUnit(byId.get(name) ?? { id: name, loadState: 'not-found' });
    }
    GetUnitByPID(pid: number) {
      calls.push(['GetUnitByPID', pid]);
      if (opts.hangPids?.includes(pid)) return never();
      const unit = opts.pids[pid];
      if (unit === 'denied') throw new dbus.DBusError('org.freedesktop.DBus.Error.AccessDenied', 'Access denied');
      if (unit === undefined) throw new dbus.DBusError('org.freedesktop.systemd1.NoUnitForPID', `PID ${pid} does not belong to any loaded unit.`);
      return exportUnit(byId.get(unit) ?? { id: unit });
    }
    EnableUnitFiles(files: string[], runtime: boolean, force: boolean) {
      calls.push(['EnableUnitFiles', files, runtime, force]);
      return [true, files.map((file) => ['symlink', `/etc/systemd/system/luks-ssm.target.wants/${file}`, `/usr/lib/systemd/system/${file}`])];
    }
    DisableUnitFiles(files: string[], runtime: boolean) {
      calls.push(['DisableUnitFiles', files, runtime]);
      return files.map((file) => ['unlink', `/etc/systemd/system/luks-ssm.target.wants/${file}`, '']);
    }
    Reload() {
      calls.push(['Reload']);
      return opts.hangReload ? never() : Promise.resolve();
    }
  }
  Manager.configureMembers({
    methods: {
      LoadUnit: { inSignature: 's', outSignature: 'o' },
      GetUnitByPID: { inSignature: 'u', outSignature: 'o' },
      EnableUnitFiles: { inSignature: 'asbb', outSignature: 'ba(sss)' },
      DisableUnitFiles: { inSignature: 'asb', outSignature: 'a(sss)' },
      Reload: {},
    },
  });
  bus.export('/org/freedesktop/systemd1', new Manager('org.freedesktop.systemd1.Manager'));
  await bus.requestName('org.freedesktop.systemd1', 0);
  return {
    calls,
    close: () => {
      bus.disconnect();
      (bus as unknown as { _connection?: { stream?: { destroy(): void } } })._connection?.stream?.destroy();
    },
  };
}
