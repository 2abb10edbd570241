// Value checks for config keys: each returns the phrase completing "KEY='value' …", or undefined when valid.
import { posix } from 'node:path';
import { orderingCycleOf } from './required-by.ts';
import { endpointProblem } from '../aws/endpoint-url.ts';

export type Check = (value: string) => string | undefined;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** MBR disks have a PARTUUID of the disk signature and the partition number. */
const MBR_PARTUUID = /^[0-9a-f]{8}-[0-9a-f]{2}$/i;
const EBS_VOLUME_ID = /^vol-[0-9a-f]{8,17}$/;
const DEV_PATH = /^\/dev(\/[A-Za-z0-9_.:+@,=-]+)+$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
/** SSM parameter names: a-zA-Z0-9_.- plus '/' between hierarchy levels (PutParameter naming constraints). */
const SSM_NAME_CHARS = /^[A-Za-z0-9_.\-/]+$/;
const SSM_ARN = /^arn:aws(-[a-z]+)*:ssm:([a-z0-9-]+):(\d{12}):parameter\/(.+)$/;
const SSM_NAME_MAX = 1011;
const SSM_LEVELS_MAX = 15;
/** LabelParameterVersion: up to 100 of a-zA-Z0-9_.-, not starting with a digit, "aws" or "ssm". */
const SSM_LABEL = /^[A-Za-z_.-][A-Za-z0-9_.-]{0,99}$/;
/** A unit name as systemd.unit(5) allows it (no escapes: '\' is outside the file grammar anyway). */
const UNIT_NAME = /^[A-Za-z0-9:_.-]+(@[A-Za-z0-9:_.-]+)?\.(service|target|mount|socket|timer|path)$/;
const UNIT_NAME_MAX = 255;
const MAP_NAME_MAX = 127;
const BOOLEAN_WORDS = new Map([['yes', true], ['true', true], ['1', true], ['no', false], ['false', false], ['0', false]]);
/** API filesystems: mounting a volume over (or inside) one of these hides the running system's view. */
const FORBIDDEN_MOUNT_ROOTS = ['/proc', '/sys', '/dev', '/run'];

export const checkDevice: Check = (value) => {
  if (value.startsWith('/')) {
    if (DEV_PATH.test(value) && !hasDotSegment(value)) return undefined;
    // An image file (check works on one) must be named under /dev too: say how, not only what is wrong.
    return value.startsWith('/dev/') ? 'is not a device path under /dev' : 'is not a device path under /dev (an image file: copy it to /dev/shm/, or attach it with losetup -f --show FILE and name the loop device)';
  }
  if (value.startsWith('UUID=')) return UUID.test(value.slice(5)) ? undefined : 'is not a UUID=… of the form 8-4-4-4-12 hex digits';
  if (value.startsWith('PARTUUID=')) {
    const id = value.slice(9);
    return UUID.test(id) || MBR_PARTUUID.test(id) ? undefined : 'is not a PARTUUID=… (GPT UUID or MBR xxxxxxxx-NN)';
  }
  if (value.startsWith('vol-')) return EBS_VOLUME_ID.test(value) ? undefined : 'is not an EBS volume id (vol- and 8 to 17 hex digits)';
  return 'is not a device: use /dev/…, UUID=…, PARTUUID=… or an EBS volume id vol-…';
};

export const checkMapName: Check = (value) => {
  if (!/^[A-Za-z0-9_.-]+$/.test(value) || value === '.' || value === '..' || value.length > MAP_NAME_MAX) {
    return `is not a device-mapper name (letters, digits, _ . - only, not '.' or '..', at most ${MAP_NAME_MAX})`;
  }
  // cryptsetup would read `--help` or `--test-passphrase` as an option (every call also ends options with --).
  return value.startsWith('-') ? "starts with '-', which cryptsetup would take for an option, refusing" : undefined;
};

/**
 * Types that mount no device (proc(5) lists them as "nodev"): the opened volume would not be what is mounted,
 * and the generated mount unit's never-existing What= would mount anyway (review 11: tmpfs).
 */
const NO_DEVICE_FS_TYPES = new Set([
  'tmpfs', 'ramfs', 'proc', 'sysfs', 'devtmpfs', 'devpts', 'cgroup', 'cgroup2', 'bpf', 'tracefs', 'debugfs',
  'securityfs', 'hugetlbfs', 'mqueue', 'pstore', 'configfs', 'fusectl', 'autofs', 'binfmt_misc', 'efivarfs',
  'rpc_pipefs', 'nfsd', 'overlay', 'nfs', 'nfs4', 'cifs', 'smb3', '9p', 'virtiofs', 'none', 'swap', 'rootfs',
  // Review 12: more that this kernel lists as nodev or that name no block device (cpuset really mounts).
  'cpuset', 'fuse', 'sockfs', 'pipefs', 'nsfs', 'ecryptfs', 'zfs', 'ceph', 'glusterfs', 'smbfs', 'aufs', 'selinuxfs',
  'bdev', 'anon_inodefs', 'dax', 'resctrl', 'squashfuse', 'shiftfs',
]);
/** Options that make mount(8) do something other than mount the device: the volume would not be what is mounted. */
const NOT_A_DEVICE_MOUNT = /^(bind|rbind|move|remount|loop|offset|sizelimit)(=.*)?$/;

export const checkFsType: Check = (value) => {
  if (!/^[a-z0-9._-]{1,32}$/.test(value)) return 'is not a filesystem type name (like ext4 or xfs)';
  return NO_DEVICE_FS_TYPES.has(value) ? 'mounts no device, refusing: name the filesystem on the volume (like ext4 or xfs)' : undefined;
};

export const checkMountOptions: Check = (value) => {
  if (!/^[^\s,]+(,[^\s,]+)*$/.test(value)) return 'is not a comma-separated option list without spaces';
  const other = value.split(',').find((option) => NOT_A_DEVICE_MOUNT.test(option));
  return other === undefined ? undefined : `has '${other}', which does not mount the opened volume, refusing`;
};

export const checkMountPoint: Check = (value) => {
  if (!value.startsWith('/')) return 'is not an absolute path';
  const normal = posix.normalize(value).replace(/(.)\/$/, '$1');
  if (normal !== value) return `is not a normalized path (did you mean '${normal}'?)`;
  if (value === '/') return 'is the root directory, refusing';
  const api = FORBIDDEN_MOUNT_ROOTS.find((root) => value === root || value.startsWith(`${root}/`));
  return api === undefined ? undefined : `is inside ${api}, refusing`;
};

export const checkSsmPath: Check = (value) => {
  const arn = SSM_ARN.exec(value);
  if (value.startsWith('arn:')) {
    if (!arn || REGION.exec(arn[2]!) === null) return 'is not an SSM parameter ARN (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME)';
    return checkSsmName(`/${arn[4]}`, true);
  }
  return checkSsmName(value, false);
};

function checkSsmName(name: string, fromArn: boolean): string | undefined {
  if (!SSM_NAME_CHARS.test(name)) return 'is not an SSM parameter name (letters, digits, _ . - and /)';
  if (name.length > SSM_NAME_MAX) return `is longer than ${SSM_NAME_MAX} characters`;
  if (name.includes('/') && !name.startsWith('/') && !fromArn) return 'is not an SSM parameter name (a name with / must start with /)';
  const levels = name.split('/').slice(name.startsWith('/') ? 1 : 0);
  if (levels.some((level) => level === '')) return 'is not an SSM parameter name (empty level: // or trailing /)';
  return levels.length > SSM_LEVELS_MAX ? `has more than ${SSM_LEVELS_MAX} levels` : undefined;
}

export const checkRegion: Check = (value) => (REGION.test(value) ? undefined : 'is not an AWS region name (like us-east-1)');

export const checkPositiveInteger: Check = (value) =>
  /^[1-9][0-9]*$/.test(value) && Number.isSafeInteger(Number(value)) ? undefined : 'is not a positive integer';

export const checkSsmLabel: Check = (value) => {
  if (!SSM_LABEL.test(value)) return 'is not an SSM label (up to 100 of letters, digits, _ . -, not starting with a digit)';
  return /^(aws|ssm)/i.test(value) ? "is not an SSM label (labels cannot start with 'aws' or 'ssm')" : undefined;
};

/** SSM_ENDPOINT, KMS_ENDPOINT: plain http:// only on loopback (src/aws/endpoint-url.ts). */
export const checkEndpoint: Check = (value) => endpointProblem(value);

/** IMDS_ENDPOINT: also IMDS's own link-local addresses over http://. */
export const checkImdsEndpoint: Check = (value) => endpointProblem(value, { imds: true });

export function checkOneOf(allowed: readonly string[]): Check {
  return (value) => (allowed.includes(value) ? undefined : `is not one of: ${allowed.join(', ')}`);
}

export function checkIntegerIn(min: number, max: number): Check {
  return (value) => {
    const n = /^[0-9]{1,9}$/.test(value) ? Number(value) : NaN;
    return n >= min && n <= max ? undefined : `is not a whole number of seconds from ${min} to ${max}`;
  };
}

export const checkOctalMode: Check = (value) => {
  if (!/^0?[0-7]{3}$/.test(value)) return 'is not an octal mode (like 0700)';
  // A file planted in a writable bare mount point makes every later start refuse to hide it.
  return (parseInt(value, 8) & 0o022) === 0
    ? undefined
    : 'lets group or others write into the mount point (any user could make every start fail), refusing: use 0755 or stricter';
};

export const checkBoolean: Check = (value) =>
  BOOLEAN_WORDS.has(value.toLowerCase()) ? undefined : 'is not a boolean (yes/no, true/false, 1/0)';

export const checkUnitList: Check = (value) => {
  const units = splitWords(value);
  const bad = units.find((unit) => !UNIT_NAME.test(unit) || unit.length > UNIT_NAME_MAX);
  if (bad !== undefined) return `names '${bad}', which is not a unit name (name.service, .target, .mount, .socket, .timer or .path)`;
  return units.map(orderingCycleOf).find((cycle) => cycle !== undefined);
};

export function toBoolean(value: string): boolean {
  return BOOLEAN_WORDS.get(value.toLowerCase()) === true;
}

/** Space-separated words, duplicates dropped, order kept. */
export function splitWords(value: string): string[] {
  return [...new Set(value.split(/\s+/).filter((word) => word !== ''))];
}

function hasDotSegment(path: string): boolean {
  return path.split('/').some((segment) => segment === '.' || segment === '..');
}

export const checkRegionList: Check = (value) => {
  const bad = splitWords(value).find((region) => checkRegion(region) !== undefined);
  return bad === undefined ? undefined : `names '${bad}', which is not an AWS region name (like us-west-2)`;
};

/** KMS KeyId syntax: key id (UUID or mrk-…), key ARN, alias/NAME, or alias ARN. */
export const checkKmsKeyId: Check = (value) => {
  if (UUID.test(value) || /^mrk-[0-9a-f]{32}$/.test(value)) return undefined;
  if (/^alias\/[A-Za-z0-9/_-]{1,250}$/.test(value)) return undefined;
  if (/^arn:aws(-[a-z]+)*:kms:[a-z0-9-]+:\d{12}:(key\/[A-Za-z0-9-]+|alias\/[A-Za-z0-9/_-]+)$/.test(value)) return undefined;
  return 'is not a KMS key id, key ARN, alias/NAME or alias ARN';
};

export function checkCountIn(min: number, max: number): Check {
  return (value) => {
    const n = /^[0-9]{1,9}$/.test(value) ? Number(value) : NaN;
    return n >= min && n <= max ? undefined : `is not a whole number from ${min} to ${max}`;
  };
}
