// The one table of config keys (name, default, check, meaning): the loader, the README and the man page all read it.
import type { VolumeConfig } from '../types.ts';
import * as v from './validate.ts';

/** VolumeConfig without the fields the loader fills itself; each key row writes its part. */
export type ConfigDraft = Omit<VolumeConfig, 'volume' | 'sources'>;

export interface ConfigKey {
  name: string;
  required: boolean;
  /** A required key that another key's value makes unnecessary (SSM_PATH when KEY_SOURCE=kms). */
  requiredUnless?: { key: string; value: string };
  /** Value used when no file sets the key; undefined means "unset". Must pass `check`. */
  default: string | undefined;
  /** Accepted values in a few words (for the docs). */
  syntax: string;
  description: string;
  /** Where the key comes from: the luks-mount.sh design (accepted unchanged) or luks-ssm. */
  origin: 'luks-mount' | 'luks-ssm';
  check: v.Check;
  /** Writes a checked value into the draft. */
  apply(draft: ConfigDraft, value: string): void;
}

/** Adding a key is one row here (and its field in VolumeConfig). */
export const CONFIG_KEYS: readonly ConfigKey[] = [
  {
    name: 'LUKS_DEVICE', required: true, default: undefined, origin: 'luks-mount', check: v.checkDevice,
    syntax: '/dev/… path, UUID=…, PARTUUID=… or EBS volume id vol-…',
    description: 'The LUKS block device; an EBS volume id names a volume attached to this instance.',
    apply: (d, value) => { d.device = value; },
  },
  {
    name: 'LUKS_DEVICE_MAP', required: true, default: undefined, origin: 'luks-mount', check: v.checkMapName,
    syntax: 'device-mapper name ([A-Za-z0-9_.-], at most 127, not starting with -)',
    description: 'Name of the opened device: /dev/mapper/NAME.',
    apply: (d, value) => { d.mapName = value; },
  },
  {
    name: 'LUKS_DEVICE_FS', required: false, default: 'ext4', origin: 'luks-mount', check: v.checkFsType,
    syntax: 'filesystem type', description: 'Filesystem type passed to mount -t: one on a device (not tmpfs, nfs and the like).',
    apply: (d, value) => { d.fsType = value; },
  },
  {
    name: 'LUKS_DEVICE_MOUNT_OPT', required: false, default: 'defaults', origin: 'luks-mount', check: v.checkMountOptions,
    syntax: 'comma-separated list, no spaces', description: 'Mount options passed to mount -o (not bind, rbind, move, remount or loop).',
    apply: (d, value) => { d.mountOptions = value; },
  },
  {
    name: 'LUKS_DEVICE_MOUNT_POINT', required: true, default: undefined, origin: 'luks-mount', check: v.checkMountPoint,
    syntax: 'absolute normalized path, not / nor under /proc, /sys, /dev, /run',
    description: 'Where the filesystem is mounted; created with MOUNT_POINT_MODE when missing.',
    apply: (d, value) => { d.mountPoint = value; },
  },
  {
    name: 'SSM_PATH', required: true, requiredUnless: { key: 'KEY_SOURCE', value: 'kms' }, default: undefined, origin: 'luks-mount', check: v.checkSsmPath,
    syntax: 'SSM parameter name (/a/b or name) or ARN',
    description: 'The SecureString parameter holding the passphrase (an ARN reads a shared parameter). Not needed with KEY_SOURCE=kms.',
    apply: (d, value) => { d.ssmPath = value; },
  },
  {
    name: 'SSM_REGION', required: false, default: undefined, origin: 'luks-mount', check: v.checkRegion,
    syntax: 'AWS region (like us-east-1)',
    description: 'Region of the parameter. Unset: AWS_REGION from the environment, else the instance metadata region.',
    apply: (d, value) => { d.region = value; },
  },
  {
    name: 'SSM_PARAMETER_VERSION', required: false, default: undefined, origin: 'luks-ssm', check: v.checkPositiveInteger,
    syntax: 'positive integer', description: 'Read this version of the parameter instead of the latest. Not with SSM_PARAMETER_LABEL.',
    apply: (d, value) => { d.ssmSelector = { version: Number(value) }; },
  },
  {
    name: 'SSM_PARAMETER_LABEL', required: false, default: undefined, origin: 'luks-ssm', check: v.checkSsmLabel,
    syntax: 'SSM label', description: 'Read the parameter version carrying this label. Not with SSM_PARAMETER_VERSION.',
    apply: (d, value) => { d.ssmSelector = { label: value }; },
  },
  {
    name: 'SSM_VALUE_ENCODING', required: false, default: 'text', origin: 'luks-ssm', check: v.checkOneOf(['text', 'base64']),
    syntax: 'text or base64',
    description: 'text: the key is the exact UTF-8 bytes of the value (no trimming). base64: the value is decoded, for binary keys.',
    apply: (d, value) => { d.ssmValueEncoding = value as ConfigDraft['ssmValueEncoding']; },
  },
  {
    name: 'SSM_ENDPOINT', required: false, default: undefined, origin: 'luks-ssm', check: v.checkEndpoint,
    syntax: 'http(s) URL', description: 'SSM endpoint override (VPC endpoint, tests).',
    apply: (d, value) => { d.endpoints.ssm = value; },
  },
  {
    name: 'KMS_ENDPOINT', required: false, default: undefined, origin: 'luks-ssm', check: v.checkEndpoint,
    syntax: 'http(s) URL', description: 'KMS endpoint override (VPC endpoint, tests).',
    apply: (d, value) => { d.endpoints.kms = value; },
  },
  {
    name: 'IMDS_ENDPOINT', required: false, default: undefined, origin: 'luks-ssm', check: v.checkImdsEndpoint,
    syntax: 'http(s) URL', description: 'Instance metadata endpoint override (tests).',
    apply: (d, value) => { d.endpoints.imds = value; },
  },
  {
    name: 'TIMEOUT_SEC', required: false, default: '90', origin: 'luks-ssm', check: v.checkIntegerIn(5, 3600),
    syntax: 'seconds, 5 to 3600', description: 'Overall deadline for unlocking, including AWS retries and the device wait.',
    apply: (d, value) => { d.timeoutSec = Number(value); },
  },
  {
    name: 'DEVICE_TIMEOUT_SEC', required: false, default: '30', origin: 'luks-ssm', check: v.checkIntegerIn(1, 3600),
    syntax: 'seconds, less than TIMEOUT_SEC', description: 'How long to wait for the device to appear. Unset: 30, or half of TIMEOUT_SEC when that is less.',
    apply: (d, value) => { d.deviceTimeoutSec = Number(value); },
  },
  {
    name: 'MOUNT_POINT_MODE', required: false, default: '0700', origin: 'luks-ssm', check: v.checkOctalMode,
    syntax: 'octal mode (like 0700), no group/other write', description: 'Mode of a mount point directory luks-ssm creates.',
    apply: (d, value) => { d.mountPointMode = Number.parseInt(value, 8); },
  },
  {
    name: 'MOUNT_OVER_NONEMPTY', required: false, default: 'no', origin: 'luks-ssm', check: v.checkBoolean,
    syntax: 'yes/no, true/false, 1/0', description: 'Allow mounting over a directory that is not empty.',
    apply: (d, value) => { d.mountOverNonEmpty = v.toBoolean(value); },
  },
  {
    name: 'REQUIRED_BY', required: false, default: '', origin: 'luks-ssm', check: v.checkUnitList,
    syntax: 'space-separated unit names (quote the list)',
    description: 'Units that require this volume and start after it is mounted (not one the service itself starts after, like local-fs.target or dbus.service: a cycle).',
    apply: (d, value) => { d.requiredBy = v.splitWords(value); },
  },
  {
    name: 'KEY_SOURCE', required: false, default: 'ssm', origin: 'luks-ssm', check: v.checkOneOf(['ssm', 'kms']),
    syntax: 'ssm or kms',
    description: 'Where the passphrase lives: ssm (the SecureString SSM_PATH) or kms (KMS ciphertext in a LUKS2 token on the device; SSM_PATH is then not needed).',
    apply: (d, value) => { d.keySource = value as 'ssm' | 'kms'; },
  },
  {
    name: 'KMS_KEY_ID', required: false, default: undefined, origin: 'luks-ssm', check: v.checkKmsKeyId,
    syntax: 'key id, key ARN, alias/NAME or alias ARN',
    description: 'KMS key that enroll and rotate encrypt new passphrases under; with KEY_SOURCE=kms also the only key start decrypts with (a token under another key is refused). Unset: alias/aws/ssm for KEY_SOURCE=ssm; required for kms.',
    apply: (d, value) => { d.kmsKeyId = value; },
  },
  {
    name: 'KMS_CONTEXT_INSTANCE_ID', required: false, default: 'no', origin: 'luks-ssm', check: v.checkBoolean,
    syntax: 'yes/no, true/false, 1/0',
    description: 'KEY_SOURCE=kms: bind the ciphertext to this instance id (from instance metadata) as well as to the LUKS UUID.',
    apply: (d, value) => { d.kmsContextInstanceId = v.toBoolean(value); },
  },
  {
    name: 'SSM_HISTORY_FALLBACK', required: false, default: '3', origin: 'luks-ssm', check: v.checkCountIn(0, 100),
    syntax: 'number of versions, 0 to 100',
    description: 'When the latest version opens no keyslot, start tries up to this many earlier versions (an interrupted rotate). 0: none.',
    apply: (d, value) => { d.ssmHistoryFallback = Number(value); },
  },
  {
    name: 'SSM_FALLBACK_REGIONS', required: false, default: '', origin: 'luks-ssm', check: v.checkRegionList,
    syntax: 'space-separated regions (quote the list)',
    description: 'Regions holding a replica of the parameter: start tries them in order only when the first is unavailable; enroll and rotate write to all.',
    apply: (d, value) => { d.fallbackRegions = v.splitWords(value); },
  },
  {
    name: 'ASK_PASSWORD', required: false, default: 'yes', origin: 'luks-ssm', check: v.checkBoolean,
    syntax: 'yes/no, true/false, 1/0',
    description: 'When AWS gives no key that opens the volume, start asks a person for a recovery key or passphrase through systemd\'s password agents (console, systemctl, systemd-tty-ask-password-agent) while it keeps trying AWS. no: never ask; start fails with AWS\'s error.',
    apply: (d, value) => { d.askPassword = v.toBoolean(value); },
  },
  {
    name: 'LUKS_PBKDF', required: false, default: undefined, origin: 'luks-ssm', check: v.checkOneOf(['argon2id', 'argon2i', 'pbkdf2']),
    syntax: 'argon2id, argon2i or pbkdf2',
    description: 'Key derivation for the key slots enroll and rotate create (cryptsetup --pbkdf). Unset: a generated key gets PBKDF2-SHA512 with 1000 iterations (its 512 random bits are the protection), a key a person chose gets cryptsetup\'s argon2id.',
    apply: (d, value) => { d.pbkdf = { ...d.pbkdf, type: value as 'argon2id' | 'argon2i' | 'pbkdf2' }; },
  },
  {
    name: 'LUKS_PBKDF_FORCE_ITERATIONS', required: false, default: undefined, origin: 'luks-ssm', check: v.checkPositiveInteger,
    syntax: 'positive integer',
    description: 'Fixed PBKDF iterations instead of cryptsetup\'s benchmark (--pbkdf-force-iterations); for tests and tiny machines.',
    apply: (d, value) => { d.pbkdf = { type: 'argon2id', ...d.pbkdf, forceIterations: Number(value) }; },
  },
  {
    name: 'LUKS_PBKDF_MEMORY_KIB', required: false, default: undefined, origin: 'luks-ssm', check: v.checkCountIn(32, 4_194_304),
    syntax: 'KiB, 32 to 4194304',
    description: 'Argon2 memory cost of new key slots (--pbkdf-memory); lower it on small instances.',
    apply: (d, value) => { d.pbkdf = { type: 'argon2id', ...d.pbkdf, memoryKib: Number(value) }; },
  },
];

export function findConfigKey(name: string): ConfigKey | undefined {
  return CONFIG_KEYS.find((key) => key.name === name);
}
