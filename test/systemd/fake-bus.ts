// An in-memory SystemdBus for tests of the modules above bus.ts: records calls, answers from tables.
import { UnlockError } from '../../src/errors.ts';
import type { SystemdBus, UnitListProperty, UnitState } from '../../src/systemd/manager.ts';

export interface FakeBusTables {
  states?: Record<string, Partial<UnitState>>;
  dependencies?: Record<string, Partial<Record<UnitListProperty, string[]>>>;
  pids?: Record<number, string>;
  /** Units (or pids as strings) whose calls fail like a bus timeout. */
  failing?: string[];
  carriesInstallInfo?: boolean;
}

export function createFakeBus(tables: FakeBusTables = {}): SystemdBus & { calls: unknown[][]; closed: boolean } {
  const calls: unknown[][] = [];
  const fail = (what: string) => {
    if (tables.failing?.includes(what)) throw new UnlockError('SYSTEM', `Failed to call ${what}: no answer within 25000 ms`, { retryable: true });
  };
  const bus = {
    calls,
    closed: false,
    async getUnitByPid(pid: number) {
      calls.push(['getUnitByPid', pid]);
      fail(String(pid));
      return tables.pids?.[pid];
    },
    async unitState(unit: string): Promise<UnitState> {
      calls.push(['unitState', unit]);
      fail(unit);
      const known = tables.states?.[unit];
      return { loadState: known ? 'loaded' : 'not-found', activeState: 'inactive', subState: 'dead', activeSince: undefined, ...known };
    },
    async unitDependencies(unit: string, property: UnitListProperty) {
      calls.push(['unitDependencies', unit, property]);
      fail(unit);
      return tables.dependencies?.[unit]?.[property] ?? [];
    },
    async enableUnitFiles(units: string[]) {
      calls.push(['enableUnitFiles', units]);
      const changed = units.map((u): [string, string, string] => ['symlink', `/etc/systemd/system/x.wants/${u}`, `/usr/lib/systemd/system/${u}`]);
      return { carriesInstallInfo: tables.carriesInstallInfo ?? true, changed };
    },
    async disableUnitFiles(units: string[]) {
      calls.push(['disableUnitFiles', units]);
      return { changed: units.map((u): [string, string, string] => ['unlink', `/etc/systemd/system/luks-ssm.target.wants/${u}`, '']) };
    },
    async reload() {
      calls.push(['reload']);
    },
    close() {
      bus.closed = true;
    },
  };
  return bus;
}
