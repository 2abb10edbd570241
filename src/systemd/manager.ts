// What luks-ssm asks systemd's Manager, as low-level calls (no introspection: 15-30 ms a call, not 0.3-1.5 s).
import type { BusConnection } from './bus.ts';

export interface UnitState {
  loadState: string;
  activeState: string;
  subState: string;
  /** When the unit last became active; undefined if never (systemd says 0) or unknown (2^64-1). */
  activeSince: Date | undefined;
}

/** Unit properties that hold unit names (org.freedesktop.systemd1.Unit, type `as`). */
export type UnitListProperty = 'After' | 'Before' | 'Requires' | 'BindsTo' | 'Wants' | 'RequiredBy' | 'BoundBy' | 'WantedBy' | 'RequiresMountsFor';

export interface SystemdBus {
  /** The unit a process belongs to (a service, a scope, a transient unit); undefined when systemd knows none. */
  getUnitByPid(pid: number): Promise<string | undefined>;
  unitState(unit: string): Promise<UnitState>;
  /** A unit's dependency list, e.g. After= (explicit and implicit, as systemd computed it). */
  unitDependencies(unit: string, property: UnitListProperty): Promise<string[]>;
  /** EnableUnitFiles(units, runtime=false, force=false): the symlinks made, as [type, file, destination]. */
  enableUnitFiles(units: string[]): Promise<{ carriesInstallInfo: boolean; changed: Array<[string, string, string]> }>;
  disableUnitFiles(units: string[]): Promise<{ changed: Array<[string, string, string]> }>;
  /** daemon-reload: returns once systemd has reloaded (and rerun the generators). */
  reload(): Promise<void>;
  close(): void;
}

const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const UNIT = 'org.freedesktop.systemd1.Unit';
const PROPERTIES = 'org.freedesktop.DBus.Properties';
const NO_UNIT_FOR_PID = 'org.freedesktop.systemd1.NoUnitForPID';
/** USEC_INFINITY: systemd's "never" for a `t` timestamp. */
const USEC_INFINITY = 2n ** 64n - 1n;

export function createSystemdBus(connection: BusConnection, opts: { reloadTimeoutMs: number }): SystemdBus {
  const manager = (member: string, signature = '', body: unknown[] = [], timeoutMs?: number) =>
    connection.call({ path: MANAGER_PATH, interface: MANAGER, member, signature, body, timeoutMs });
  const unitPath = async (unit: string): Promise<string> => String((await manager('LoadUnit', 's', [unit]))[0]);
  const getAll = async (path: string): Promise<Record<string, unknown>> =>
    ((await connection.call({ path, interface: PROPERTIES, member: 'GetAll', signature: 's', body: [UNIT] }))[0] ?? {}) as Record<string, unknown>;
  const get = async (path: string, name: string): Promise<unknown> =>
    (await connection.call({ path, interface: PROPERTIES, member: 'Get', signature: 'ss', body: [UNIT, name] }))[0];

  return {
    async getUnitByPid(pid) {
      let path: string;
      try {
        path = String((await manager('GetUnitByPID', 'u', [pid]))[0]);
      } catch (error) {
        if (connection.errorName(error) === NO_UNIT_FOR_PID) return undefined;
        throw error;
      }
      return String(await get(path, 'Id'));
    },
    async unitState(unit) {
      const all = await getAll(await unitPath(unit));
      return {
        loadState: String(all.LoadState ?? 'unknown'),
        activeState: String(all.ActiveState ?? 'unknown'),
        subState: String(all.SubState ?? 'unknown'),
        activeSince: timestampOf(all.ActiveEnterTimestamp),
      };
    },
    async unitDependencies(unit, property) {
      const value = await get(await unitPath(unit), property);
      return Array.isArray(value) ? value.map(String) : [];
    },
    async enableUnitFiles(units) {
      const [carries, changes] = await manager('EnableUnitFiles', 'asbb', [units, false, false]);
      return { carriesInstallInfo: carries === true, changed: changesOf(changes) };
    },
    async disableUnitFiles(units) {
      const [changes] = await manager('DisableUnitFiles', 'asb', [units, false]);
      return { changed: changesOf(changes) };
    },
    async reload() {
      await manager('Reload', '', [], opts.reloadTimeoutMs);
    },
    close: () => connection.close(),
  };
}

/** A `t` in microseconds since the epoch (a BigInt from dbus-next) as a Date; 0 and infinity mean none. */
export function timestampOf(value: unknown): Date | undefined {
  if (typeof value !== 'bigint' || value === 0n || value === USEC_INFINITY) return undefined;
  return new Date(Number(value / 1000n));
}

function changesOf(value: unknown): Array<[string, string, string]> {
  if (!Array.isArray(value)) return [];
  return value.map((change) => {
    const [type, file, destination] = Array.isArray(change) ? change : [];
    return [String(type ?? ''), String(file ?? ''), String(destination ?? '')];
  });
}
