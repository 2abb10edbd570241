// Loading a volume: defaults layered under the volume file, --config, the luks-mount file unchanged, and refusals.
import { copyFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadVolumeConfig } from '../../src/config/index.ts';
import { failureOf, loadWith, makeDir, messageFor, optionsFor, REQUIRED_LINES, writeConf } from './temp-config.ts';

const FIXTURE = new URL('../fixtures/luks-mount.default', import.meta.url).pathname;

describe('the luks-mount.sh design file', () => {
  it('is read unchanged, as --config or as the defaults file', async () => {
    const dir = makeDir();
    const copy = join(dir, 'luks-mount');
    copyFileSync(FIXTURE, copy);
    chmodSync(copy, 0o644);
    const expected = {
      volume: 'data', device: '/dev/nvme1n1', mapName: 'data', fsType: 'ext4', mountOptions: 'defaults,noatime',
      mountPoint: '/data', ssmPath: '/luks/data/passphrase', region: 'us-east-1', ssmSelector: undefined,
      endpoints: {}, timeoutSec: 90, deviceTimeoutSec: 30, mountPointMode: 0o700, mountOverNonEmpty: false, requiredBy: [],
      ssmValueEncoding: 'text', keySource: 'ssm', kmsContextInstanceId: false, ssmHistoryFallback: 3, fallbackRegions: [], askPassword: true
    };
    expect(await loadVolumeConfig(optionsFor(dir, { configFile: copy }))).toEqual({ ...expected, sources: [copy] });
    const own = writeConf(dir, 'data.conf', ['# everything comes from the defaults file']);
    expect(await loadVolumeConfig(optionsFor(dir, { defaultsFile: copy }))).toEqual({ ...expected, sources: [copy, own] });
  });
});

describe('layering', () => {
  it('applies built-in defaults for keys no file sets', async () => {
    const { file, config } = await loadWith([]);
    expect(config).toEqual({
      volume: 'data', sources: [file], device: '/dev/xvdf', mapName: 'data', fsType: 'ext4', mountOptions: 'defaults',
      mountPoint: '/data', ssmPath: '/luks/data/passphrase', ssmSelector: undefined, region: undefined, endpoints: {},
      timeoutSec: 90, deviceTimeoutSec: 30, mountPointMode: 0o700, mountOverNonEmpty: false, requiredBy: [],
      ssmValueEncoding: 'text', keySource: 'ssm', kmsContextInstanceId: false, ssmHistoryFallback: 3, fallbackRegions: [], askPassword: true
    });
  });

  it('lets the volume file win over the defaults file, which wins over built-in defaults', async () => {
    const dir = makeDir();
    const defaults = writeConf(dir, 'defaults', ['export SSM_REGION=eu-west-1', 'TIMEOUT_SEC=120', 'LUKS_DEVICE_FS=xfs']);
    const own = writeConf(dir, 'data.conf', [...REQUIRED_LINES, 'SSM_REGION=eu-central-1']);
    const config = await loadVolumeConfig(optionsFor(dir, { defaultsFile: defaults }));
    expect(config).toMatchObject({ region: 'eu-central-1', timeoutSec: 120, fsType: 'xfs', sources: [defaults, own] });
  });

  it('uses --config instead of <confDir>/<volume>.conf, still over the defaults file', async () => {
    const dir = makeDir();
    writeConf(dir, 'data.conf', [...REQUIRED_LINES, 'LUKS_DEVICE_FS=btrfs']);
    const defaults = writeConf(dir, 'defaults', ['TIMEOUT_SEC=60']);
    const other = writeConf(dir, 'other.conf', REQUIRED_LINES.map((l) => l.replace('MAP=data', 'MAP=other')));
    const config = await loadVolumeConfig(optionsFor(dir, { defaultsFile: defaults, configFile: other }));
    expect(config).toMatchObject({ mapName: 'other', fsType: 'ext4', timeoutSec: 60, sources: [defaults, other] });
  });

  it('treats an empty value as "back to the built-in default"', async () => {
    const dir = makeDir();
    const defaults = writeConf(dir, 'defaults', ['SSM_REGION=eu-west-1', 'REQUIRED_BY=x.service']);
    writeConf(dir, 'data.conf', [...REQUIRED_LINES, 'SSM_REGION=', 'REQUIRED_BY=""']);
    expect(await loadVolumeConfig(optionsFor(dir, { defaultsFile: defaults }))).toMatchObject({ region: undefined, requiredBy: [] });
  });

  it('falls back to AWS_REGION from the env it is given when no file sets SSM_REGION', async () => {
    expect((await loadWith([], { env: { AWS_REGION: 'ap-southeast-2' } })).config.region).toBe('ap-southeast-2');
    expect((await loadWith(['SSM_REGION=us-west-2'], { env: { AWS_REGION: 'ap-southeast-2' } })).config.region).toBe('us-west-2');
    expect((await loadWith([], { env: { AWS_REGION: '' } })).config.region).toBeUndefined();
    expect(await messageFor([], { env: { AWS_REGION: 'nowhere' } })).toBe(
      "environment: AWS_REGION='nowhere' is not an AWS region name (like us-east-1)",
    );
  });

  it('checks every line even when a later file overrides it', async () => {
    const dir = makeDir();
    const defaults = writeConf(dir, 'defaults', ['# shared', 'TIMEOUT_SEC=forever']);
    writeConf(dir, 'data.conf', [...REQUIRED_LINES, 'TIMEOUT_SEC=60']);
    const error = await failureOf(() => loadVolumeConfig(optionsFor(dir, { defaultsFile: defaults })));
    expect(error.message).toBe(`${defaults}:2: TIMEOUT_SEC='forever' is not a whole number of seconds from 5 to 3600`);
  });
});

describe('refusals (one line each, naming file:line)', () => {
  it('a missing volume file is NOT_CONFIGURED, with a hint', async () => {
    const dir = makeDir();
    const error = await failureOf(() => loadVolumeConfig(optionsFor(dir)));
    expect(error.kind).toBe('NOT_CONFIGURED');
    expect(error.exitCode).toBe(6);
    expect(error.message).toBe(`${join(dir, 'data.conf')}: no such config file for volume 'data'`);
    expect(error.hint).toBe('create it from /etc/luks-ssm/example.conf.sample');
  });

  it('a missing --config file is NOT_CONFIGURED too', async () => {
    const dir = makeDir();
    const error = await failureOf(() => loadVolumeConfig(optionsFor(dir, { configFile: join(dir, 'nope.conf') })));
    expect([error.kind, error.message, error.hint]).toEqual([
      'NOT_CONFIGURED', `${join(dir, 'nope.conf')}: no such config file for volume 'data'`, 'check the --config path',
    ]);
  });

  it('a missing required key names the file, and the defaults file when there is one', async () => {
    const dir = makeDir();
    const own = writeConf(dir, 'data.conf', REQUIRED_LINES.filter((l) => !l.startsWith('SSM_PATH=')));
    expect((await failureOf(() => loadVolumeConfig(optionsFor(dir)))).message).toBe(`${own}: required key SSM_PATH is not set`);
    const defaults = writeConf(dir, 'defaults', ['SSM_REGION=us-east-1']);
    const error = await failureOf(() => loadVolumeConfig(optionsFor(dir, { defaultsFile: defaults })));
    expect([error.kind, error.message]).toEqual(['CONFIG', `${own}: required key SSM_PATH is not set (nor in ${defaults})`]);
  });

  it('SSM_PATH may be left out with KEY_SOURCE=kms (the passphrase is in a LUKS2 token), not with ssm', async () => {
    const dir = makeDir();
    const kms = ['KEY_SOURCE=kms', 'KMS_KEY_ID=alias/luks'];
    writeConf(dir, 'data.conf', [...REQUIRED_LINES.filter((l) => !l.startsWith('SSM_PATH=')), ...kms]);
    expect(await loadVolumeConfig(optionsFor(dir))).toMatchObject({ keySource: 'kms', ssmPath: undefined });
    const own = writeConf(dir, 'data.conf', [...REQUIRED_LINES.filter((l) => !l.startsWith('SSM_PATH=')), 'KEY_SOURCE=ssm']);
    expect((await failureOf(() => loadVolumeConfig(optionsFor(dir)))).message).toBe(`${own}: required key SSM_PATH is not set`);
  });

  it('a required key may come from the defaults file', async () => {
    const dir = makeDir();
    const defaults = writeConf(dir, 'defaults', ['SSM_PATH=/shared/passphrase']);
    writeConf(dir, 'data.conf', REQUIRED_LINES.filter((l) => !l.startsWith('SSM_PATH=')));
    expect((await loadVolumeConfig(optionsFor(dir, { defaultsFile: defaults }))).ssmPath).toBe('/shared/passphrase');
  });

  it('an empty required key is refused at its line', async () => {
    const dir = makeDir();
    const own = writeConf(dir, 'data.conf', [...REQUIRED_LINES.slice(0, 3), 'SSM_PATH=']);
    expect((await failureOf(() => loadVolumeConfig(optionsFor(dir)))).message).toBe(`${own}:4: required key SSM_PATH is empty`);
  });

  it('an unknown key suggests the closest known one, or nothing when none is close', async () => {
    expect(await messageFor(['LUKS_DEVCE=/dev/xvdg'])).toBe("FILE:5: unknown key 'LUKS_DEVCE', did you mean 'LUKS_DEVICE'?");
    expect(await messageFor(['luks_device_fs=xfs'])).toBe("FILE:5: unknown key 'luks_device_fs', did you mean 'LUKS_DEVICE_FS'?");
    expect(await messageFor(['TIMOUT_SECS=5'])).toBe("FILE:5: unknown key 'TIMOUT_SECS', did you mean 'TIMEOUT_SEC'?");
    expect(await messageFor(['SSM_PARAMETER_VERISON=2'])).toBe("FILE:5: unknown key 'SSM_PARAMETER_VERISON', did you mean 'SSM_PARAMETER_VERSION'?");
    expect(await messageFor(['PASSPHRASE=x'])).toBe("FILE:5: unknown key 'PASSPHRASE'");
  });

  it('a key set twice in one file names both lines', async () => {
    expect(await messageFor(['# again:', 'LUKS_DEVICE=/dev/xvdg'])).toBe('FILE:6: LUKS_DEVICE is set twice (lines 1 and 6); keep one');
  });

  it('SSM_PARAMETER_VERSION and SSM_PARAMETER_LABEL exclude each other, across files too', async () => {
    expect(await messageFor(['SSM_PARAMETER_VERSION=3', 'SSM_PARAMETER_LABEL=prod'])).toBe(
      'FILE:6: SSM_PARAMETER_LABEL cannot be combined with SSM_PARAMETER_VERSION (set at FILE:5); keep one',
    );
    const dir = makeDir();
    const defaults = writeConf(dir, 'defaults', ['SSM_PARAMETER_LABEL=prod']);
    const own = writeConf(dir, 'data.conf', [...REQUIRED_LINES, 'SSM_PARAMETER_VERSION=3']);
    expect((await failureOf(() => loadVolumeConfig(optionsFor(dir, { defaultsFile: defaults })))).message).toBe(
      `${own}:5: SSM_PARAMETER_VERSION cannot be combined with SSM_PARAMETER_LABEL (set at ${defaults}:1); keep one`,
    );
  });

  it('DEVICE_TIMEOUT_SEC must be less than TIMEOUT_SEC when set, also against the default TIMEOUT_SEC', async () => {
    expect(await messageFor(['DEVICE_TIMEOUT_SEC=90'])).toBe('FILE:5: DEVICE_TIMEOUT_SEC=90 must be less than TIMEOUT_SEC=90 (default)');
    expect(await messageFor(['DEVICE_TIMEOUT_SEC=50', 'TIMEOUT_SEC=40'])).toBe('FILE:6: DEVICE_TIMEOUT_SEC=50 must be less than TIMEOUT_SEC=40');
    expect((await loadWith(['TIMEOUT_SEC=20', 'DEVICE_TIMEOUT_SEC=19'])).config).toMatchObject({ timeoutSec: 20, deviceTimeoutSec: 19 });
  });

  it('KEY_SOURCE=kms needs KMS_KEY_ID: without it start would decrypt under whatever key the header token names (review 8)', async () => {
    expect(await messageFor(['KEY_SOURCE=kms'])).toBe("FILE:5: KEY_SOURCE=kms needs KMS_KEY_ID (the one key start decrypts the header's token under); set KMS_KEY_ID= the key id, ARN or alias/NAME enroll used");
    expect((await loadWith(['KEY_SOURCE=kms', 'KMS_KEY_ID=alias/luks'])).config).toMatchObject({ keySource: 'kms', kmsKeyId: 'alias/luks' });
    expect((await loadWith(['KEY_SOURCE=ssm'])).config).toMatchObject({ keySource: 'ssm' });
  });

  it('TIMEOUT_SEC=20 alone is accepted: an unset DEVICE_TIMEOUT_SEC follows the deadline (half of it, at most 30)', async () => {
    expect((await loadWith(['TIMEOUT_SEC=20'])).config).toMatchObject({ timeoutSec: 20, deviceTimeoutSec: 10 });
    expect((await loadWith(['TIMEOUT_SEC=5'])).config).toMatchObject({ timeoutSec: 5, deviceTimeoutSec: 2 });
    expect((await loadWith([])).config).toMatchObject({ timeoutSec: 90, deviceTimeoutSec: 30 });
    expect((await loadWith(['TIMEOUT_SEC=20', 'DEVICE_TIMEOUT_SEC='])).config).toMatchObject({ timeoutSec: 20, deviceTimeoutSec: 10 });
  });

  it('a grammar error in a volume file is reported with its line', async () => {
    expect(await messageFor(['[data]'])).toBe("FILE:5: section header '[data]' is not supported: write KEY=value lines only");
    expect(await messageFor(['SSM_REGION=$REGION'])).toBe("FILE:5: SSM_REGION: shell expansion ('$') is not supported: write the value literally");
  });

  it('a volume name that is not systemd instance-safe is a USAGE error', async () => {
    for (const volume of ['', '../etc/x', 'a b', 'a/b', '.', '..', 'x'.repeat(251), '-h', '--version']) {
      const error = await failureOf(() => loadVolumeConfig(optionsFor(makeDir(), { volume })));
      expect(error.kind).toBe('USAGE');
      expect(error.message).toMatch(/^invalid volume name ".*": use 1 to 250 of letters, digits and _ \. @ -, not starting with -$/);
    }
    const dir = makeDir();
    writeConf(dir, 'db@blue-1.x_y.conf', REQUIRED_LINES);
    expect((await loadVolumeConfig(optionsFor(dir, { volume: 'db@blue-1.x_y' }))).volume).toBe('db@blue-1.x_y');
  });
});
