// Unit names luks-ssm derives from a volume and its mount point, escaped exactly as systemd-escape does.

/** systemd's UNIT_NAME_MAX minus the terminating NUL (src/basic/unit-name.h). */
export const UNIT_NAME_MAX = 255;

/** Characters systemd leaves unescaped (unit-name.c VALID_CHARS minus '-' and '\\', which get escaped). */
const PLAIN_CHAR = /^[A-Za-z0-9:_.]$/;

/** What may appear verbatim in an instance name (unit-name.c: VALID_CHARS_WITH_AT minus '\\'), not first '-': a command line would take it for an option. */
const INSTANCE_NAME = /^[A-Za-z0-9:_.@][A-Za-z0-9:_.@-]*$/;

/**
 * `systemd-escape --path`: simplify the path (drop `//`, `/./` and trailing `/`), turn `/` into `-`, escape
 * everything else outside [A-Za-z0-9:_.] as \xNN per UTF-8 byte, and a leading `.` too. The root is `-`.
 * Throws for relative or unnormalized (`..`) paths: systemd-escape refuses those as well.
 */
export function escapePath(path: string): string {
  if (!path.startsWith('/')) throw new Error(`'${path}' is not an absolute path`);
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new Error(`'${path}' is not a normalized path`);
  if (parts.length === 0) return '-';
  const bytes = Buffer.from(parts.join('/'), 'utf8');
  let out = '';
  bytes.forEach((byte, index) => {
    const char = String.fromCharCode(byte);
    if (char === '/') out += '-';
    else if ((index === 0 && char === '.') || !PLAIN_CHAR.test(char)) out += `\\x${byte.toString(16).padStart(2, '0')}`;
    else out += char;
  });
  return out;
}

/** `systemd-escape -p --suffix=mount <mountPoint>`: the unit that `RequiresMountsFor=<mountPoint>` attaches to. */
export function mountUnitName(mountPoint: string): string {
  const name = `${escapePath(mountPoint)}.mount`;
  if (name.length > UNIT_NAME_MAX) throw new Error(`mount unit name for '${mountPoint}' is longer than ${UNIT_NAME_MAX} characters`);
  return name;
}

/** True when `volume` can be used verbatim as the instance of luks-ssm@.service (so %i is the volume). */
export function isValidInstance(volume: string): boolean {
  return INSTANCE_NAME.test(volume) && serviceNameOf(volume).length <= UNIT_NAME_MAX;
}

/** `luks-ssm@<volume>.service`. The volume is not escaped: config names are restricted to instance-safe ones. */
export function serviceNameOf(volume: string): string {
  return `luks-ssm@${volume}.service`;
}

export const TARGET_NAME = 'luks-ssm.target';
export const TEMPLATE_NAME = 'luks-ssm@.service';

const UNIT_SUFFIXES = ['service', 'socket', 'device', 'mount', 'automount', 'swap', 'target', 'path', 'timer', 'slice', 'scope'];

/** A unit name systemd accepts: [valid chars]+ '.' suffix, at most 255 characters, @ only for instances. */
export function isValidUnitName(unit: string): boolean {
  const match = /^([A-Za-z0-9:_.\\-]+(?:@[A-Za-z0-9:_.@\\-]*)?)\.([a-z]+)$/.exec(unit);
  return match !== null && UNIT_SUFFIXES.includes(match[2]!) && unit.length <= UNIT_NAME_MAX;
}
