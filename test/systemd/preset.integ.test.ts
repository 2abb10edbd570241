// The shipped preset under a distribution's `disable *` (RHEL, Fedora, Amazon Linux): `systemctl preset-all`, which
// admins and image tooling run, must keep the volumes an admin enabled (review 15), with the real systemctl.
import { execFile } from 'node:child_process';
import { copyFile, lstat, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SYSTEMCTL = ['/usr/bin/systemctl', '/bin/systemctl'].find((file) => existsSync(file));
const UNITS = ['luks-ssm@.service', 'luks-ssm.target', 'luks-ssm-gate.service'];
let root = '';
afterEach(async () => {
  if (root !== '') await rm(root, { recursive: true, force: true });
});

/** An offline root with the package's units and preset, the distribution's `disable *`, and volume `data` enabled. */
async function rootWithEnabledVolume(): Promise<{ wants: string }> {
  root = await mkdtemp(join(tmpdir(), 'luks-ssm-preset-'));
  const units = join(root, 'usr/lib/systemd/system');
  const presets = join(root, 'usr/lib/systemd/system-preset');
  await mkdir(units, { recursive: true });
  await mkdir(presets, { recursive: true });
  for (const unit of UNITS) await copyFile(join(REPO, 'systemd', unit), join(units, unit));
  await copyFile(join(REPO, 'packaging/files/50-luks-ssm.preset'), join(presets, '50-luks-ssm.preset'));
  await writeFile(join(presets, '99-default-disable.preset'), 'disable *\n');
  const wants = join(root, 'etc/systemd/system/luks-ssm.target.wants/luks-ssm@data.service');
  await mkdir(dirname(wants), { recursive: true });
  await symlink('/usr/lib/systemd/system/luks-ssm@.service', wants);
  return { wants };
}

describe.skipIf(!SYSTEMCTL)('the shipped preset', () => {
  it('keeps an enabled volume and enables the target through `systemctl preset-all` under `disable *`', async () => {
    const { wants } = await rootWithEnabledVolume();
    await run(SYSTEMCTL!, [`--root=${root}`, 'preset-all'], { timeout: 20_000 });
    expect((await lstat(wants)).isSymbolicLink()).toBe(true);
    const { stdout } = await run(SYSTEMCTL!, [`--root=${root}`, 'is-enabled', 'luks-ssm.target', 'luks-ssm@data.service'], { timeout: 20_000 });
    expect(stdout.split('\n').filter(Boolean)).toEqual(['enabled', 'enabled']);
  });
});
