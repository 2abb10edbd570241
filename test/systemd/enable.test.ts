// enable/disable: over D-Bus (EnableUnitFiles + Reload) and offline (the symlinks systemctl would make).
import { lstat, mkdir, mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { disableVolume, enablePathsIn, enableVolume, findEnablePaths, type EnablePaths } from '../../src/systemd/enable.ts';
import type { VolumeConfig } from '../../src/types.ts';
import { createFakeBus } from './fake-bus.ts';

const CONFIG = { volume: 'data', requiredBy: ['postgresql.service'], mountPoint: '/srv/data' } as VolumeConfig;

let root = '';
let paths: EnablePaths;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'luks-ssm-enable-'));
  const vendor = join(root, 'usr/lib/systemd/system');
  await mkdir(vendor, { recursive: true });
  paths = { unitDir: join(root, 'etc/systemd/system'), templatePath: join(vendor, 'luks-ssm@.service'), targetPath: join(vendor, 'luks-ssm.target') };
  await writeFile(paths.templatePath, '[Install]\nWantedBy=luks-ssm.target\n');
  await writeFile(paths.targetPath, '[Install]\nWantedBy=multi-user.target\n');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('enableVolume over D-Bus', () => {
  it('enables the instance and the target, then reloads so the generator writes the units', async () => {
    const bus = createFakeBus();
    const result = await enableVolume(CONFIG, bus, paths);
    expect(bus.calls).toEqual([['enableUnitFiles', ['luks-ssm@data.service', 'luks-ssm.target']], ['reload']]);
    expect(result).toEqual({
      applied: true,
      messages: [
        'Created symlink /etc/systemd/system/x.wants/luks-ssm@data.service → /usr/lib/systemd/system/luks-ssm@data.service.',
        'Created symlink /etc/systemd/system/x.wants/luks-ssm.target → /usr/lib/systemd/system/luks-ssm.target.',
        'Enabled luks-ssm@data.service at boot; start it now with: systemctl start luks-ssm@data.service',
      ],
    });
    expect(await readdir(root)).toEqual(['usr']);
  });

  it('says so when systemd finds no [Install] section to act on', async () => {
    const result = await enableVolume(CONFIG, createFakeBus({ carriesInstallInfo: false }), paths);
    expect(result.messages).toContain('luks-ssm@data.service has no [Install] section: nothing to enable, is the package installed correctly?');
  });

  it('refuses a volume name that is not a valid instance', async () => {
    await expect(enableVolume({ ...CONFIG, volume: 'a b' }, createFakeBus(), paths)).rejects.toMatchObject({ kind: 'USAGE', message: 'luks-ssm@a b.service is not a valid unit name' });
  });
});

describe('enableVolume without D-Bus', () => {
  it('writes the symlinks systemctl enable would, and says what is left to do', async () => {
    const result = await enableVolume(CONFIG, undefined, paths);
    const volumeLink = join(paths.unitDir, 'luks-ssm.target.wants/luks-ssm@data.service');
    const targetLink = join(paths.unitDir, 'multi-user.target.wants/luks-ssm.target');
    expect(await readlink(volumeLink)).toBe(paths.templatePath);
    expect(await readlink(targetLink)).toBe(paths.targetPath);
    expect(result).toEqual({
      applied: false,
      messages: [
        `Created symlink ${volumeLink} → ${paths.templatePath}.`,
        `Created symlink ${targetLink} → ${paths.targetPath}.`,
        'systemd is not reachable over D-Bus (a chroot, or before boot finished?): luks-ssm@data.service is enabled for the next boot; to apply it now run: systemctl daemon-reload',
      ],
    });
  });

  it('is idempotent and never replaces a file an admin put there', async () => {
    await mkdir(join(paths.unitDir, 'multi-user.target.wants'), { recursive: true });
    await writeFile(join(paths.unitDir, 'multi-user.target.wants/luks-ssm.target'), 'admin copy');
    await enableVolume(CONFIG, undefined, paths);
    const again = await enableVolume(CONFIG, undefined, paths);
    expect(again.messages).toHaveLength(1);
    expect((await lstat(join(paths.unitDir, 'multi-user.target.wants/luks-ssm.target'))).isFile()).toBe(true);
  });

  it('fails clearly when the package units are not installed', async () => {
    await rm(paths.templatePath);
    await expect(enableVolume(CONFIG, undefined, paths)).rejects.toMatchObject({
      kind: 'SYSTEM', message: `Failed to enable: ${paths.templatePath} is not installed (ENOENT)`,
    });
  });
});

describe('findEnablePaths: the unit dir the package really used', () => {
  async function installUnder(dir: string): Promise<void> {
    await mkdir(join(root, dir), { recursive: true });
    for (const unit of ['luks-ssm@.service', 'luks-ssm.target']) await writeFile(join(root, dir, unit), '[Install]\n');
  }

  it('a system without merged /usr (Debian 11, an upgraded Ubuntu 20.04): /lib/systemd/system, and enable links there', async () => {
    await rm(paths.templatePath);
    await rm(paths.targetPath);
    await installUnder('lib/systemd/system');
    const found = await findEnablePaths(root);
    expect(found).toEqual(enablePathsIn(join(root, 'lib/systemd/system'), join(root, 'etc/systemd/system')));
    await enableVolume(CONFIG, undefined, found);
    expect(await readlink(join(root, 'etc/systemd/system/luks-ssm.target.wants/luks-ssm@data.service'))).toBe(join(root, 'lib/systemd/system/luks-ssm@.service'));
  });

  it('/usr/lib/systemd/system when it holds the template (merged /usr, RPM); the same when neither does, for the error', async () => {
    await installUnder('lib/systemd/system');
    expect((await findEnablePaths(root)).templatePath).toBe(join(root, 'usr/lib/systemd/system/luks-ssm@.service'));
    await rm(join(root, 'usr/lib/systemd/system/luks-ssm@.service'));
    await rm(join(root, 'lib'), { recursive: true });
    expect((await findEnablePaths(root)).templatePath).toBe(join(root, 'usr/lib/systemd/system/luks-ssm@.service'));
  });
});

describe('disableVolume', () => {
  it('disables only the instance over D-Bus and reloads', async () => {
    const bus = createFakeBus();
    const result = await disableVolume('data', bus, paths);
    expect(bus.calls).toEqual([['disableUnitFiles', ['luks-ssm@data.service']], ['reload']]);
    expect(result.messages).toEqual([
      'Removed /etc/systemd/system/luks-ssm.target.wants/luks-ssm@data.service.',
      'Disabled luks-ssm@data.service at boot; units that require it (REQUIRED_BY in its config, RequiresMountsFor=) still start it while its config file exists.',
    ]);
  });

  it('offline, removes the volume symlink and keeps luks-ssm.target enabled for the other volumes', async () => {
    await enableVolume(CONFIG, undefined, paths);
    const result = await disableVolume('data', undefined, paths);
    expect(await readdir(join(paths.unitDir, 'luks-ssm.target.wants'))).toEqual([]);
    expect(await readdir(join(paths.unitDir, 'multi-user.target.wants'))).toEqual(['luks-ssm.target']);
    expect(result.applied).toBe(false);
    expect(result.messages[0]).toBe(`Removed ${join(paths.unitDir, 'luks-ssm.target.wants/luks-ssm@data.service')}.`);
    expect((await disableVolume('data', undefined, paths)).messages).toHaveLength(1);
  });
});
