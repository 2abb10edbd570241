// What systemd says about the units around a volume: running dependents, their ordering, a busy pid's unit.
import type { SystemdBus, UnitState } from './manager.ts';
import { mountUnitName, serviceNameOf } from './unit-name.ts';

/** States in which a unit's processes may be running (and may have written into the bare mount point). */
export const RUNNING_STATES: readonly string[] = ['active', 'activating', 'reloading', 'deactivating', 'refreshing'];

/**
 * For `start`: the REQUIRED_BY units already running. Mounting under them would hide what they wrote into
 * the mount point and swap the filesystem under their open files, so start refuses. Without a bus: none
 * known. A failing call rejects (UnlockError): the caller decides whether to refuse or go on.
 */
export async function findActiveDependents(bus: SystemdBus | undefined, requiredBy: readonly string[]): Promise<string[]> {
  if (!bus) return [];
  const states = await Promise.all(requiredBy.map(async (unit) => ({ unit, state: await bus.unitState(unit) })));
  return states.filter(({ state }) => RUNNING_STATES.includes(state.activeState)).map(({ unit }) => unit);
}

export interface DependentStatus {
  unit: string;
  /** 'unknown' when systemd could not be asked. */
  loadState: string;
  activeState: string;
  subState: string;
  /** After= the volume's service or mount unit; undefined when systemd could not be asked. */
  orderedAfter: boolean | undefined;
  /** Requires=/BindsTo= (RequiresMountsFor= gives Requires= on the mount unit) the service or mount unit. */
  requires: boolean | undefined;
}

const UNKNOWN: Omit<DependentStatus, 'unit'> = { loadState: 'unknown', activeState: 'unknown', subState: 'unknown', orderedAfter: undefined, requires: undefined };

/**
 * For `status`: each REQUIRED_BY unit with its state and whether systemd really orders it after the volume
 * (the generator's drop-in may be missing: no daemon-reload since the config changed, or an admin override).
 * Never rejects: what cannot be asked is reported as unknown.
 */
export async function describeDependents(
  bus: SystemdBus | undefined,
  volume: { volume: string; mountPoint: string; requiredBy: readonly string[] },
): Promise<DependentStatus[]> {
  const ours = [serviceNameOf(volume.volume), safeMountUnitName(volume.mountPoint)].filter((u): u is string => u !== undefined);
  return Promise.all(
    volume.requiredBy.map(async (unit): Promise<DependentStatus> => {
      if (!bus) return { unit, ...UNKNOWN };
      try {
        const [state, after, requires, bindsTo] = await Promise.all([
          bus.unitState(unit),
          bus.unitDependencies(unit, 'After'),
          bus.unitDependencies(unit, 'Requires'),
          bus.unitDependencies(unit, 'BindsTo'),
        ]);
        const names = (list: string[]) => list.some((name) => ours.includes(name));
        return { unit, ...stateOf(state), orderedAfter: names(after), requires: names([...requires, ...bindsTo]) };
      } catch {
        return { unit, ...UNKNOWN };
      }
    }),
  );
}

export interface Holder {
  pid: number;
  /** The unit the process runs in (service, session scope, transient unit); undefined when unknown. */
  unit: string | undefined;
}

/** For `stop` when the mount is busy: which unit each holding process belongs to, so the message names it. */
export async function nameHolders(bus: SystemdBus | undefined, pids: readonly number[]): Promise<Holder[]> {
  return Promise.all(
    pids.map(async (pid) => {
      if (!bus) return { pid, unit: undefined };
      try {
        return { pid, unit: await bus.getUnitByPid(pid) };
      } catch {
        return { pid, unit: undefined };
      }
    }),
  );
}

function stateOf(state: UnitState): Pick<DependentStatus, 'loadState' | 'activeState' | 'subState'> {
  return { loadState: state.loadState, activeState: state.activeState, subState: state.subState };
}

function safeMountUnitName(mountPoint: string): string | undefined {
  try {
    return mountUnitName(mountPoint);
  } catch {
    return undefined;
  }
}
