// Every key in the table, valid and invalid, as a user sees it: the loaded VolumeConfig, or the one-line refusal.
import { describe, expect, it } from 'vitest';
import { loadVolumeConfig } from '../../src/config/index.ts';
import type { VolumeConfig } from '../../src/types.ts';
import { failureOf, makeDir, optionsFor, REQUIRED_LINES, writeConf } from './temp-config.ts';

/** REQUIRED_LINES with KEY=value replacing that key's line (or appended as line 5). */
function linesWith(key: string, value: string): { lines: string[]; line: number } {
  const index = REQUIRED_LINES.findIndex((l) => l.startsWith(`${key}=`));
  const lines = [...REQUIRED_LINES];
  const written = /[\s#;|&<>()~'"]/.test(value) ? `"${value}"` : value;
  if (index >= 0) lines[index] = `${key}=${written}`;
  else lines.push(`${key}=${written}`);
  return { lines, line: index >= 0 ? index + 1 : lines.length };
}

async function loadKey(key: string, value: string): Promise<VolumeConfig> {
  const dir = makeDir();
  writeConf(dir, 'data.conf', linesWith(key, value).lines);
  return loadVolumeConfig(optionsFor(dir));
}

async function refusalOf(key: string, value: string): Promise<string> {
  const dir = makeDir();
  const { lines, line } = linesWith(key, value);
  const file = writeConf(dir, 'data.conf', lines);
  const error = await failureOf(() => loadVolumeConfig(optionsFor(dir)));
  // Long values are quoted back cut at 200 characters, so the message stays one readable line.
  const shown = value.length > 200 ? `${value.slice(0, 200)}…` : value;
  const prefix = `${file}:${line}: ${key}='${shown}' `;
  expect(error.kind).toBe('CONFIG');
  expect(error.message.slice(0, prefix.length)).toBe(prefix);
  return error.message.slice(prefix.length);
}

type Valid = [string, Partial<VolumeConfig>];
type Invalid = [string, string];

const CASES: Record<string, { valid: Valid[]; invalid: Invalid[] }> = {
  LUKS_DEVICE: {
    valid: [
      ['/dev/nvme1n1', { device: '/dev/nvme1n1' }],
      ['/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0', { device: '/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0' }],
      ['/dev/disk/by-path/pci-0000:00:1f.0-nvme-1', { device: '/dev/disk/by-path/pci-0000:00:1f.0-nvme-1' }],
      ['UUID=0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d', { device: 'UUID=0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d' }],
      ['PARTUUID=0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D', { device: 'PARTUUID=0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D' }],
      ['PARTUUID=1234abcd-02', { device: 'PARTUUID=1234abcd-02' }],
      ['vol-0123456789abcdef0', { device: 'vol-0123456789abcdef0' }],
      ['vol-01234567', { device: 'vol-01234567' }],
    ],
    invalid: [
      ['nvme1n1', 'is not a device: use /dev/…, UUID=…, PARTUUID=… or an EBS volume id vol-…'],
      ['/data/disk.img', 'is not a device path under /dev (an image file: copy it to /dev/shm/, or attach it with losetup -f --show FILE and name the loop device)'],
      ['/dev/../etc/shadow', 'is not a device path under /dev'],
      ['/dev/', 'is not a device path under /dev'],
      ['UUID=not-a-uuid', 'is not a UUID=… of the form 8-4-4-4-12 hex digits'],
      ['PARTUUID=1234abcd', 'is not a PARTUUID=… (GPT UUID or MBR xxxxxxxx-NN)'],
      ['vol-0123', 'is not an EBS volume id (vol- and 8 to 17 hex digits)'],
      ['vol-0123456789ABCDEF0', 'is not an EBS volume id (vol- and 8 to 17 hex digits)'],
    ],
  },
  LUKS_DEVICE_MAP: {
    valid: [['data', { mapName: 'data' }], ['luks-data_1.x', { mapName: 'luks-data_1.x' }], ['m'.repeat(127), { mapName: 'm'.repeat(127) }]],
    invalid: [
      ['..', "is not a device-mapper name (letters, digits, _ . - only, not '.' or '..', at most 127)"],
      ['.', "is not a device-mapper name (letters, digits, _ . - only, not '.' or '..', at most 127)"],
      ['a/b', "is not a device-mapper name (letters, digits, _ . - only, not '.' or '..', at most 127)"],
      ['m'.repeat(128), "is not a device-mapper name (letters, digits, _ . - only, not '.' or '..', at most 127)"],
      // #10 item 11: cryptsetup took these for options (`status --help` said "open"; `open --test-passphrase` mapped nothing).
      ['--help', "starts with '-', which cryptsetup would take for an option, refusing"],
      ['-data', "starts with '-', which cryptsetup would take for an option, refusing"],
    ],
  },
  LUKS_DEVICE_FS: {
    valid: [['xfs', { fsType: 'xfs' }], ['fuse.ntfs-3g', { fsType: 'fuse.ntfs-3g' }]],
    invalid: [
      ['Ext4', 'is not a filesystem type name (like ext4 or xfs)'],
      ['ext4,xfs', 'is not a filesystem type name (like ext4 or xfs)'],
      // Review 11: these mount no device, so not the opened volume (and the mount unit's What= would not stop them).
      ['tmpfs', 'mounts no device, refusing: name the filesystem on the volume (like ext4 or xfs)'],
      ['nfs4', 'mounts no device, refusing: name the filesystem on the volume (like ext4 or xfs)'],
      ['cpuset', 'mounts no device, refusing: name the filesystem on the volume (like ext4 or xfs)'],
    ],
  },
  LUKS_DEVICE_MOUNT_OPT: {
    valid: [['defaults,noatime', { mountOptions: 'defaults,noatime' }], ['ro', { mountOptions: 'ro' }]],
    invalid: [
      ['rw, noatime', 'is not a comma-separated option list without spaces'],
      ['rw,,noatime', 'is not a comma-separated option list without spaces'],
      ['rw,', 'is not a comma-separated option list without spaces'],
      ['bind', "has 'bind', which does not mount the opened volume, refusing"],
      ['noatime,rbind', "has 'rbind', which does not mount the opened volume, refusing"],
      ['remount,ro', "has 'remount', which does not mount the opened volume, refusing"],
      ['loop=/dev/loop7', "has 'loop=/dev/loop7', which does not mount the opened volume, refusing"],
      // Review 12: mount(8) binds for `bind=` too; the option's name decides.
      ['bind=', "has 'bind=', which does not mount the opened volume, refusing"],
      ['noatime,rbind=', "has 'rbind=', which does not mount the opened volume, refusing"],
    ],
  },
  LUKS_DEVICE_MOUNT_POINT: {
    valid: [['/srv/data', { mountPoint: '/srv/data' }], ['/my data', { mountPoint: '/my data' }], ['/runner', { mountPoint: '/runner' }]],
    invalid: [
      ['data', 'is not an absolute path'],
      ['/data/', "is not a normalized path (did you mean '/data'?)"],
      ['//data', "is not a normalized path (did you mean '/data'?)"],
      ['/srv/../data', "is not a normalized path (did you mean '/data'?)"],
      ['/', 'is the root directory, refusing'],
      ['/proc', 'is inside /proc, refusing'],
      ['/sys/fs/x', 'is inside /sys, refusing'],
      ['/dev/shm/x', 'is inside /dev, refusing'],
      ['/run/data', 'is inside /run, refusing'],
    ],
  },
  SSM_PATH: {
    valid: [
      ['plainname', { ssmPath: 'plainname' }],
      ['/a/b-c/d_e.f', { ssmPath: '/a/b-c/d_e.f' }],
      ['arn:aws:ssm:us-east-1:123456789012:parameter/luks/data', { ssmPath: 'arn:aws:ssm:us-east-1:123456789012:parameter/luks/data' }],
      ['arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/p', { ssmPath: 'arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/p' }],
      [`/${Array(15).fill('l').join('/')}`, { ssmPath: `/${Array(15).fill('l').join('/')}` }],
    ],
    invalid: [
      ['a/b', 'is not an SSM parameter name (a name with / must start with /)'],
      ['/a//b', 'is not an SSM parameter name (empty level: // or trailing /)'],
      ['/a/b/', 'is not an SSM parameter name (empty level: // or trailing /)'],
      ['/a/b:c', 'is not an SSM parameter name (letters, digits, _ . - and /)'],
      [`/${Array(16).fill('l').join('/')}`, 'has more than 15 levels'],
      [`/${'x'.repeat(1011)}`, 'is longer than 1011 characters'],
      ['arn:aws:ssm:us-east-1:1234:parameter/p', 'is not an SSM parameter ARN (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME)'],
      ['arn:aws:s3:::bucket', 'is not an SSM parameter ARN (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME)'],
    ],
  },
  SSM_REGION: {
    valid: [['eu-central-1', { region: 'eu-central-1' }], ['us-gov-west-1', { region: 'us-gov-west-1' }], ['cn-north-1', { region: 'cn-north-1' }]],
    invalid: [['us-east', 'is not an AWS region name (like us-east-1)'], ['US-EAST-1', 'is not an AWS region name (like us-east-1)']],
  },
  SSM_PARAMETER_VERSION: {
    valid: [['1', { ssmSelector: { version: 1 } }], ['42', { ssmSelector: { version: 42 } }]],
    invalid: [['0', 'is not a positive integer'], ['-1', 'is not a positive integer'], ['1.5', 'is not a positive integer'], ['01', 'is not a positive integer']],
  },
  SSM_VALUE_ENCODING: {
    valid: [['text', { ssmValueEncoding: 'text' }], ['base64', { ssmValueEncoding: 'base64' }]],
    invalid: [['hex', 'is not one of: text, base64'], ['Base64', 'is not one of: text, base64']],
  },
  SSM_PARAMETER_LABEL: {
    valid: [['prod', { ssmSelector: { label: 'prod' } }], ['Blue_2024.v-1', { ssmSelector: { label: 'Blue_2024.v-1' } }]],
    invalid: [
      ['2024', 'is not an SSM label (up to 100 of letters, digits, _ . -, not starting with a digit)'],
      ['a/b', 'is not an SSM label (up to 100 of letters, digits, _ . -, not starting with a digit)'],
      ['l'.repeat(101), 'is not an SSM label (up to 100 of letters, digits, _ . -, not starting with a digit)'],
      ['AWSprod', "is not an SSM label (labels cannot start with 'aws' or 'ssm')"],
      ['ssm-x', "is not an SSM label (labels cannot start with 'aws' or 'ssm')"],
    ],
  },
  SSM_ENDPOINT: {
    valid: [['https://ssm.us-east-1.amazonaws.com', { endpoints: { ssm: 'https://ssm.us-east-1.amazonaws.com' } }], ['http://127.0.0.1:4566', { endpoints: { ssm: 'http://127.0.0.1:4566' } }]],
    invalid: [
      ['ssm.us-east-1.amazonaws.com', 'is not an http:// or https:// URL'],
      ['ftp://127.0.0.1', 'is not an http:// or https:// URL'],
      ['http://user:pw@127.0.0.1', 'must not contain credentials'],
      ['http://127.0.0.1/?x=1', 'must not have a query or fragment'],
      ['http://10.0.2.2:4566', 'uses http:// to a host that is not loopback (127.0.0.0/8, ::1, localhost): use https://'],
    ],
  },
  KMS_ENDPOINT: {
    valid: [['http://127.0.0.1:4567', { endpoints: { kms: 'http://127.0.0.1:4567' } }]],
    invalid: [['127.0.0.1:4567', 'is not an http:// or https:// URL'], ['http://kms.example.com', 'uses http:// to a host that is not loopback (127.0.0.0/8, ::1, localhost): use https://']],
  },
  IMDS_ENDPOINT: {
    valid: [['http://127.0.0.1:1338', { endpoints: { imds: 'http://127.0.0.1:1338' } }], ['http://169.254.169.254', { endpoints: { imds: 'http://169.254.169.254' } }]],
    invalid: [['http://', 'is not an http:// or https:// URL'],
      ['http://10.1.2.3', 'uses http:// to a host that is neither loopback nor instance metadata (169.254.169.254, fd00:ec2::254): use https://']],
  },
  TIMEOUT_SEC: {
    valid: [['3600', { timeoutSec: 3600 }], ['31', { timeoutSec: 31 }]],
    invalid: [['4', 'is not a whole number of seconds from 5 to 3600'], ['3601', 'is not a whole number of seconds from 5 to 3600'], ['90s', 'is not a whole number of seconds from 5 to 3600']],
  },
  DEVICE_TIMEOUT_SEC: {
    valid: [['1', { deviceTimeoutSec: 1 }], ['89', { deviceTimeoutSec: 89 }]],
    invalid: [['0', 'is not a whole number of seconds from 1 to 3600'], ['1.5', 'is not a whole number of seconds from 1 to 3600']],
  },
  MOUNT_POINT_MODE: {
    valid: [['0750', { mountPointMode: 0o750 }], ['755', { mountPointMode: 0o755 }]],
    invalid: [
      ['0800', 'is not an octal mode (like 0700)'],
      ['rwx', 'is not an octal mode (like 0700)'],
      ['04755', 'is not an octal mode (like 0700)'],
      // #10 item 12: a writable bare mount point lets anyone plant a file there, and every later start refuses it.
      ['0777', 'lets group or others write into the mount point (any user could make every start fail), refusing: use 0755 or stricter'],
      ['0770', 'lets group or others write into the mount point (any user could make every start fail), refusing: use 0755 or stricter'],
      ['702', 'lets group or others write into the mount point (any user could make every start fail), refusing: use 0755 or stricter'],
    ],
  },
  MOUNT_OVER_NONEMPTY: {
    valid: [['yes', { mountOverNonEmpty: true }], ['TRUE', { mountOverNonEmpty: true }], ['1', { mountOverNonEmpty: true }], ['no', { mountOverNonEmpty: false }], ['false', { mountOverNonEmpty: false }], ['0', { mountOverNonEmpty: false }]],
    invalid: [['maybe', 'is not a boolean (yes/no, true/false, 1/0)'], ['on', 'is not a boolean (yes/no, true/false, 1/0)']],
  },
  REQUIRED_BY: {
    valid: [
      ['postgresql.service', { requiredBy: ['postgresql.service'] }],
      ['docker.service  app@blue.service multi-user.target docker.service', { requiredBy: ['docker.service', 'app@blue.service', 'multi-user.target'] }],
      ['srv-data.mount backup.timer', { requiredBy: ['srv-data.mount', 'backup.timer'] }],
    ],
    invalid: [
      ['postgresql', "names 'postgresql', which is not a unit name (name.service, .target, .mount, .socket, .timer or .path)"],
      ['a.service b.device', "names 'b.device', which is not a unit name (name.service, .target, .mount, .socket, .timer or .path)"],
      ['app@.service', "names 'app@.service', which is not a unit name (name.service, .target, .mount, .socket, .timer or .path)"],
      ['a,b.service', "names 'a,b.service', which is not a unit name (name.service, .target, .mount, .socket, .timer or .path)"],
      // #10 item 12: the volume's service is itself ordered after these: requiring them after it is an ordering cycle at boot.
      ['app.service local-fs.target', "names 'local-fs.target', which luks-ssm@.service is itself ordered after (local file systems are mounted before any normal service): an ordering cycle, refusing"],
      ['-.mount', "names '-.mount', which luks-ssm@.service is itself ordered after (the root file system is mounted before any normal service): an ordering cycle, refusing"],
      ['dbus.service', "names 'dbus.service', which luks-ssm@.service is itself ordered after (After=dbus.service keeps the bus up while the volume stops): an ordering cycle, refusing"],
      ['basic.target', "names 'basic.target', which luks-ssm@.service is itself ordered after (default dependencies of every service): an ordering cycle, refusing"],
      ['sysinit.target', "names 'sysinit.target', which luks-ssm@.service is itself ordered after (default dependencies of every service): an ordering cycle, refusing"],
      ['network-online.target', "names 'network-online.target', which luks-ssm@.service is itself ordered after (the passphrase comes over the network): an ordering cycle, refusing"],
      // Review 8: every socket and path unit is ordered before a target of basic.target (systemd-analyze verify showed the cycle).
      ['app.service docker.socket', "names 'docker.socket': every socket unit is ordered before sockets.target, part of basic.target, which luks-ssm@.service is ordered after: an ordering cycle, refusing (name the service it starts, e.g. docker.service)"],
      ['app@blue.path', "names 'app@blue.path': every path unit is ordered before paths.target, part of basic.target, which luks-ssm@.service is ordered after: an ordering cycle, refusing (name the service it starts, e.g. app@blue.service)"],
    ],
  },
  KEY_SOURCE: {
    // kms alone is refused for want of KMS_KEY_ID (test/config/load.test.ts).
    valid: [['ssm', { keySource: 'ssm' }]],
    invalid: [['KMS', 'is not one of: ssm, kms'], ['file', 'is not one of: ssm, kms']],
  },
  KMS_KEY_ID: {
    valid: [
      ['alias/luks-ssm', { kmsKeyId: 'alias/luks-ssm' }],
      ['1234abcd-12ab-34cd-56ef-1234567890ab', { kmsKeyId: '1234abcd-12ab-34cd-56ef-1234567890ab' }],
      ['arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', { kmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' }],
      ['arn:aws:kms:eu-west-1:111122223333:alias/luks', { kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:alias/luks' }],
      ['mrk-1234abcd12ab34cd56ef1234567890ab', { kmsKeyId: 'mrk-1234abcd12ab34cd56ef1234567890ab' }],
    ],
    invalid: [['luks-key', 'is not a KMS key id, key ARN, alias/NAME or alias ARN'], ['arn:aws:kms:us-east-1:1:key/x', 'is not a KMS key id, key ARN, alias/NAME or alias ARN']],
  },
  KMS_CONTEXT_INSTANCE_ID: {
    valid: [['yes', { kmsContextInstanceId: true }], ['no', { kmsContextInstanceId: false }]],
    invalid: [['instance', 'is not a boolean (yes/no, true/false, 1/0)']],
  },
  ASK_PASSWORD: {
    valid: [['yes', { askPassword: true }], ['no', { askPassword: false }], ['0', { askPassword: false }]],
    invalid: [['never', 'is not a boolean (yes/no, true/false, 1/0)']],
  },
  SSM_HISTORY_FALLBACK: {
    valid: [['0', { ssmHistoryFallback: 0 }], ['100', { ssmHistoryFallback: 100 }]],
    invalid: [['101', 'is not a whole number from 0 to 100'], ['-1', 'is not a whole number from 0 to 100']],
  },
  SSM_FALLBACK_REGIONS: {
    valid: [['us-west-2', { fallbackRegions: ['us-west-2'] }], ['us-west-2  eu-central-1', { fallbackRegions: ['us-west-2', 'eu-central-1'] }]],
    invalid: [['us-west-2,eu-central-1', "names 'us-west-2,eu-central-1', which is not an AWS region name (like us-west-2)"]],
  },
  LUKS_PBKDF: {
    valid: [['pbkdf2', { pbkdf: { type: 'pbkdf2' } }], ['argon2i', { pbkdf: { type: 'argon2i' } }]],
    invalid: [['scrypt', 'is not one of: argon2id, argon2i, pbkdf2']],
  },
  LUKS_PBKDF_FORCE_ITERATIONS: {
    valid: [['1000', { pbkdf: { type: 'argon2id', forceIterations: 1000 } }]],
    invalid: [['0', 'is not a positive integer']],
  },
  LUKS_PBKDF_MEMORY_KIB: {
    valid: [['65536', { pbkdf: { type: 'argon2id', memoryKib: 65536 } }]],
    invalid: [['16', 'is not a whole number from 32 to 4194304']],
  },
};

describe.each(Object.entries(CASES))('%s', (key, { valid, invalid }) => {
  it.each(valid)('accepts %j', async (value, expected) => {
    expect(await loadKey(key, value)).toMatchObject(expected);
  });
  it.each(invalid)('refuses %j', async (value, phrase) => {
    expect(await refusalOf(key, value)).toBe(phrase);
  });
});

it('has a case for every key in the table', async () => {
  const { CONFIG_KEYS } = await import('../../src/config/index.ts');
  expect(Object.keys(CASES).sort()).toEqual(CONFIG_KEYS.map((k) => k.name).sort());
});
