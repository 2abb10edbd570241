// `systemd-analyze verify` on the shipped units and on what the generator writes, in a scratch root.
import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateUnits } from '../../src/systemd/generator.ts';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const HOST_UNITS = ['/usr/lib/systemd/system', '/lib/systemd/system'].find((dir) => existsSync(join(dir, 'multi-user.target')));
const ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((file) => existsSync(file));

let root = '';

/** Verifies units inside the scratch root; --man=no because the man pages come with the package. */
async function verify(units: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(ANALYZE!, ['verify', '--man=no', `--root=${root}`, ...units], { timeout: 20_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe.skipIf(!HOST_UNITS || !ANALYZE)('systemd-analyze verify', () => {
  let generated: string[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'luks-ssm-verify-'));
    const vendor = join(root, 'usr/lib/systemd/system');
    await cp(HOST_UNITS!, vendor, { recursive: true, verbatimSymlinks: true });
    for (const file of ['luks-ssm@.service', 'luks-ssm.target', 'luks-ssm-gate.service']) await cp(join(HERE, '../../systemd', file), join(vendor, file));
    await mkdir(join(root, 'usr/sbin'), { recursive: true });
    await writeFile(join(root, 'usr/sbin/luks-ssm'), '#!/bin/sh\n', { mode: 0o755 });
    // luks-ssm-gate.service runs /bin/true (coreutils on Debian; /bin is /usr/bin on RHEL).
    await mkdir(join(root, 'bin'), { recursive: true });
    await writeFile(join(root, 'bin/true'), '#!/bin/sh\n', { mode: 0o755 });
    // The dependents named by REQUIRED_BY in the golden inputs.
    for (const unit of ['postgresql.service', 'app@.service', 'db@.service']) {
      await writeFile(join(vendor, unit), '[Service]\nExecStart=/usr/sbin/luks-ssm\n');
    }
    const out = join(root, 'etc/systemd/system');
    for (const name of ['basic', 'escaping', 'luks-mount-compat']) {
      const confDir = join(root, 'etc/luks-ssm', name);
      await cp(join(HERE, 'golden', name, 'input/luks-ssm'), confDir, { recursive: true });
      for (const file of await readdir(confDir)) await chmod(join(confDir, file), 0o644);
      const result = await generateUnits(out, { confDir, defaultsFile: join(HERE, 'golden', name, 'input/defaults'), fstabPath: join(HERE, 'golden', name, 'input/fstab'), env: {}, requireRootOwned: false, warn: () => {} });
      generated.push(...result.files.filter((file) => !file.includes('/')));
    }
  });

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('accepts the shipped units with no warning', async () => {
    expect(await verify(['luks-ssm@data.service', 'luks-ssm.target', 'luks-ssm-gate.service'])).toEqual({ code: 0, output: '' });
  });

  it('accepts every generated mount unit and the units the drop-ins extend, with no warning', async () => {
    expect(generated.length).toBeGreaterThanOrEqual(3);
    const extended = ['postgresql.service', 'app@blue.service', 'db@1.service', 'luks-ssm@db-1.service', 'luks-ssm@pct.service'];
    expect(await verify([...generated, ...extended])).toEqual({ code: 0, output: '' });
  });

  it('finds no ordering cycle in a boot with the volume enabled and dependents of both kinds', async () => {
    const etc = join(root, 'etc/systemd/system');
    const wants = async (target: string, unit: string, file: string) => {
      await mkdir(join(etc, `${target}.wants`), { recursive: true });
      await symlink(`/usr/lib/systemd/system/${file}`, join(etc, `${target}.wants`, unit));
    };
    // As `luks-ssm enable data` leaves it, with Debian's default remote-fs.target in the same transaction.
    await wants('multi-user.target', 'luks-ssm.target', 'luks-ssm.target');
    await wants('multi-user.target', 'remote-fs.target', 'remote-fs.target');
    await wants('luks-ssm.target', 'luks-ssm@data.service', 'luks-ssm@.service');
    // postgresql.service is in REQUIRED_BY (drop-in); mounts-for.service only says RequiresMountsFor=/srv/data.
    await writeFile(join(root, 'usr/lib/systemd/system/mounts-for.service'), '[Unit]\nRequiresMountsFor=/srv/data\n[Service]\nExecStart=/usr/sbin/luks-ssm\n');
    await wants('multi-user.target', 'postgresql.service', 'postgresql.service');
    await wants('multi-user.target', 'mounts-for.service', 'mounts-for.service');
    const result = await verify(['multi-user.target', 'graphical.target', 'systemd-user-sessions.service']);
    expect(result.output).not.toContain('ordering cycle');
    expect(result.output).not.toContain('luks-ssm');
  });

  it('is not a test that cannot fail: a broken unit is reported', async () => {
    await writeFile(join(root, 'etc/systemd/system/broken.service'), '[Service]\nType=oneshot\nRestart=always\nExecStart=/usr/sbin/luks-ssm\n');
    const result = await verify(['broken.service']);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain("isn't allowed for Type=oneshot");
  });
});
