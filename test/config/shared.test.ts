// Settings no two volumes may share: a config copied for a second volume keeps the first one's (review 16).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadVolumeConfig, refuseSharedSettings, settingsSharedWithOthers } from '../../src/config/index.ts';
import { failureOf, makeDir, optionsFor, REQUIRED_LINES, writeConf } from './temp-config.ts';

/** `lines` with each KEY=value of `changes` in place of that key's line (a key may be set once only). */
function edited(lines: string[], changes: string[]): string[] {
  const keyOf = (line: string) => line.slice(0, line.indexOf('='));
  const byKey = new Map(changes.map((line) => [keyOf(line), line]));
  return [...lines.map((line) => byKey.get(keyOf(line)) ?? line), ...changes.filter((line) => !lines.some((l) => keyOf(l) === keyOf(line)))];
}

/** `data.conf` and a copy of it as `logs.conf` with its own device and the `changes` made. */
async function dataAndCopy(changes: string[]) {
  const dir = makeDir();
  const data = [...REQUIRED_LINES, 'SSM_REGION=us-east-1'];
  writeConf(dir, 'data.conf', data);
  writeConf(dir, 'logs.conf', edited(data, ['LUKS_DEVICE=/dev/xvdg', ...changes]));
  const opts = optionsFor(dir, { volume: 'logs' });
  const config = await loadVolumeConfig(opts);
  return { dir, config, shared: await settingsSharedWithOthers(config, opts) };
}

describe('settingsSharedWithOthers', () => {
  it('finds the SSM parameter, mapping and mount point a copied config still shares, naming the other file', async () => {
    const { dir, shared } = await dataAndCopy([]);
    expect(shared).toEqual([
      { key: 'SSM_PATH', value: '/luks/data/passphrase', volume: 'data', file: join(dir, 'data.conf') },
      { key: 'LUKS_DEVICE_MAP', value: 'data', volume: 'data', file: join(dir, 'data.conf') },
      { key: 'LUKS_DEVICE_MOUNT_POINT', value: '/data', volume: 'data', file: join(dir, 'data.conf') },
    ]);
  });

  it('finds nothing once each is its own; the same name in another region is another parameter', async () => {
    const { shared } = await dataAndCopy(['SSM_PATH=/luks/logs', 'LUKS_DEVICE_MAP=logs', 'LUKS_DEVICE_MOUNT_POINT=/logs']);
    expect(shared).toEqual([]);
    const elsewhere = await dataAndCopy(['SSM_REGION=eu-west-1', 'LUKS_DEVICE_MAP=logs', 'LUKS_DEVICE_MOUNT_POINT=/logs']);
    expect(elsewhere.shared).toEqual([]);
  });

  it('knows the parameter by its ARN too', async () => {
    const { shared } = await dataAndCopy(['SSM_PATH=arn:aws:ssm:us-east-1:111122223333:parameter/luks/data/passphrase', 'LUKS_DEVICE_MAP=logs', 'LUKS_DEVICE_MOUNT_POINT=/logs']);
    expect(shared.map((s) => s.key)).toEqual(['SSM_PATH']);
    const elsewhere = await dataAndCopy(['SSM_PATH=arn:aws:ssm:eu-west-1:111122223333:parameter/luks/data/passphrase', 'LUKS_DEVICE_MAP=logs', 'LUKS_DEVICE_MOUNT_POINT=/logs']);
    expect(elsewhere.shared).toEqual([]);
  });

  it('does not judge another config that does not load', async () => {
    const dir = makeDir();
    writeConf(dir, 'data.conf', [...REQUIRED_LINES, 'TIMEOUT_SECS=1']);
    writeConf(dir, 'logs.conf', [...REQUIRED_LINES]);
    const opts = optionsFor(dir, { volume: 'logs' });
    expect(await settingsSharedWithOthers(await loadVolumeConfig(opts), opts)).toEqual([]);
  });
});

describe('refuseSharedSettings', () => {
  it('is one CONFIG line (78) naming each shared setting, the other file, and the fix in this volume\'s file', async () => {
    const { dir, config, shared } = await dataAndCopy(['LUKS_DEVICE_MAP=logs', 'LUKS_DEVICE_MOUNT_POINT=/logs']);
    const error = await failureOf(async () => refuseSharedSettings(config, shared));
    expect(error.exitCode).toBe(78);
    expect(error.message).toBe(`SSM_PATH=/luks/data/passphrase is also volume 'data''s (${join(dir, 'data.conf')}): a rotation of one would leave the other's key slot behind, until it no longer opens, refusing`);
    expect(error.hint).toBe(`give volume 'logs' its own SSM_PATH in ${join(dir, 'logs.conf')}`);
    expect(() => refuseSharedSettings(config, [])).not.toThrow();
  });
});
