// Which volumes are configured (the generator's input): <name>.conf files in the config directory.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isVolumeName, listConfiguredVolumes, volumeConfigPath } from '../../src/config/index.ts';
import { makeDir } from './temp-config.ts';

describe('listConfiguredVolumes', () => {
  it('lists *.conf names sorted by code point, skipping other files, hidden files and directories', async () => {
    const dir = makeDir();
    for (const name of ['web.conf', 'Data.conf', 'db@blue.conf', 'a-b.conf', 'example.conf.sample', 'notes.txt', '.hidden.conf', 'bad name.conf']) {
      writeFileSync(join(dir, name), '');
    }
    mkdirSync(join(dir, 'dir.conf'));
    symlinkSync(join(dir, 'web.conf'), join(dir, 'linked.conf'));
    expect(await listConfiguredVolumes(dir)).toEqual(['Data', 'a-b', 'db@blue', 'linked', 'web']);
  });

  it('returns no volumes for an empty or missing directory', async () => {
    const dir = makeDir();
    expect(await listConfiguredVolumes(dir)).toEqual([]);
    expect(await listConfiguredVolumes(join(dir, 'missing'))).toEqual([]);
  });
});

describe('volume names', () => {
  it('accepts systemd instance-safe names and maps them to <confDir>/<name>.conf', () => {
    expect(['data', 'db@blue', 'a.b_c-1', 'X'].every(isVolumeName)).toBe(true);
    expect(volumeConfigPath('/etc/luks-ssm', 'db@blue')).toBe('/etc/luks-ssm/db@blue.conf');
  });

  it('rejects names that could escape the directory or break a unit name', () => {
    expect(['', '.', '..', 'a/b', '../x', 'a b', 'a\\x2d', 'x'.repeat(251), '-h', '--help', '--version', '-data'].some(isVolumeName)).toBe(false);
  });
});
