// The key table is the one source for README, man page and sample config: they must show every key, correctly.
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, loadVolumeConfig, parseKeyValueText, renderConfigKeysMarkdown, renderSampleConfig } from '../../src/config/index.ts';
import { makeDir, optionsFor, writeConf } from './temp-config.ts';

describe('key table', () => {
  it('has unique names, and every default passes its own check', () => {
    expect(new Set(CONFIG_KEYS.map((k) => k.name)).size).toBe(CONFIG_KEYS.length);
    for (const key of CONFIG_KEYS) {
      if (key.default !== undefined && key.default !== '') expect([key.name, key.check(key.default)]).toEqual([key.name, undefined]);
      expect(key.required && key.default !== undefined).toBe(false);
    }
  });

  it('keeps the seven luks-mount.sh keys', () => {
    expect(CONFIG_KEYS.filter((k) => k.origin === 'luks-mount').map((k) => k.name)).toEqual([
      'LUKS_DEVICE', 'LUKS_DEVICE_MAP', 'LUKS_DEVICE_FS', 'LUKS_DEVICE_MOUNT_OPT', 'LUKS_DEVICE_MOUNT_POINT', 'SSM_PATH', 'SSM_REGION',
    ]);
  });
});

describe('renderConfigKeysMarkdown', () => {
  it('renders one table row per key, with defaults and required keys marked', () => {
    const markdown = renderConfigKeysMarkdown();
    const rows = markdown.split('\n').filter((line) => line.startsWith('| `'));
    expect(rows).toHaveLength(CONFIG_KEYS.length);
    expect(rows.map((row) => row.split('`')[1])).toEqual(CONFIG_KEYS.map((k) => k.name));
    expect(markdown).toContain('| `LUKS_DEVICE` ¹ | (required) |');
    expect(markdown).toContain('| `TIMEOUT_SEC` | `90` | seconds, 5 to 3600 |');
    expect(markdown).toContain('| `SSM_REGION` ¹ | (unset) |');
    for (const row of rows) expect(row.split(/(?<!\\)\|/)).toHaveLength(6);
  });
});

describe('renderSampleConfig', () => {
  it('mentions every key and loads as a volume config once copied', async () => {
    const sample = renderSampleConfig();
    for (const key of CONFIG_KEYS) expect(sample).toContain(`${key.name}=`);
    const dir = makeDir();
    writeConf(dir, 'data.conf', [sample]);
    expect(await loadVolumeConfig(optionsFor(dir))).toMatchObject({ device: '/dev/nvme1n1', mountPoint: '/data', timeoutSec: 90 });
  });

  it('gives each commented-out key its default, which loads when uncommented', () => {
    const uncommented = renderSampleConfig().replace(/^#([A-Z_]+=)/gm, '$1');
    const entries = parseKeyValueText(uncommented, 'sample').entries;
    expect(entries.map((e) => e.key)).toEqual(CONFIG_KEYS.map((k) => k.name));
  });
});
