// Units luks-ssm@.service is itself ordered after: a REQUIRED_BY naming one would order it after the volume too.

/**
 * Each with the reason the service starts after it (systemd/luks-ssm@.service, systemd.special(7)). Naming
 * one in REQUIRED_BY writes `After=luks-ssm@<volume>.service` into it: an ordering cycle, which systemd
 * breaks at boot by dropping a job (maybe the unlock, maybe something the system needs).
 */
export const ORDERED_BEFORE_SERVICE: ReadonlyMap<string, string> = new Map([
  ['sysinit.target', 'default dependencies of every service'],
  ['basic.target', 'default dependencies of every service'],
  ['local-fs.target', 'local file systems are mounted before any normal service'],
  ['local-fs-pre.target', 'local file systems are mounted before any normal service'],
  ['-.mount', 'the root file system is mounted before any normal service'],
  ['swap.target', 'part of sysinit.target'],
  ['cryptsetup.target', 'part of sysinit.target'],
  ['veritysetup.target', 'part of sysinit.target'],
  ['sockets.target', 'part of basic.target'],
  ['paths.target', 'part of basic.target'],
  ['timers.target', 'part of basic.target'],
  ['slices.target', 'part of basic.target'],
  ['systemd-journald.service', 'part of sysinit.target'],
  ['systemd-journald.socket', 'part of sysinit.target'],
  ['systemd-udevd.service', 'part of sysinit.target'],
  ['systemd-remount-fs.service', 'part of local-fs.target'],
  ['systemd-tmpfiles-setup.service', 'part of sysinit.target'],
  ['dbus.socket', 'part of sockets.target'],
  ['dbus.service', 'After=dbus.service keeps the bus up while the volume stops'],
  ['network-pre.target', 'the passphrase comes over the network'],
  ['network.target', 'the passphrase comes over the network'],
  ['network-online.target', 'the passphrase comes over the network'],
]);

/**
 * Unit types whose default dependencies order every unit of the type before a target of basic.target, which every
 * service is ordered after: `docker.socket` as a dependent is a cycle as surely as sockets.target (review 8).
 */
const TYPES_BEFORE_BASIC: ReadonlyMap<string, string> = new Map([
  ['.socket', 'sockets.target'],
  ['.path', 'paths.target'],
]);

/** The phrase completing "REQUIRED_BY=… names 'unit', …" for a unit that would make a cycle, else undefined. */
export function orderingCycleOf(unit: string): string | undefined {
  const why = ORDERED_BEFORE_SERVICE.get(unit);
  if (why !== undefined) return `names '${unit}', which luks-ssm@.service is itself ordered after (${why}): an ordering cycle, refusing`;
  const type = unit.slice(unit.lastIndexOf('.'));
  const target = TYPES_BEFORE_BASIC.get(type);
  if (target === undefined) return undefined;
  const service = `${unit.slice(0, -type.length)}.service`;
  return `names '${unit}': every ${type.slice(1)} unit is ordered before ${target}, part of basic.target, which luks-ssm@.service is ordered after: an ordering cycle, refusing (name the service it starts, e.g. ${service})`;
}
