// Golden-file tests of the generator: each test/systemd/golden/<case>/input gives exactly <case>/expected.
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { generatorPathsFromEnv, generateUnits } from '../../src/systemd/generator.ts';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), 'golden');
/** Set to rewrite expected/ from the current output (then review the diff before committing). */
const UPDATE = process.env.LUKS_SSM_UPDATE_GOLDEN === '1';

const temps: string[] = [];
afterEach(async () => {
  await Promise.all(temps.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => relative(root, join(e.parentPath, e.name))).sort();
}

/** Input copied to a temp dir with the modes a root-owned /etc has (a checkout may be group-writable). */
async function stageInput(name: string): Promise<{ root: string; confDir: string; defaultsFile: string }> {
  const root = await mkdtemp(join(tmpdir(), `luks-ssm-golden-${name}-`));
  temps.push(root);
  await cp(join(GOLDEN, name, 'input'), join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'etc', 'luks-ssm'), { recursive: true });
  for (const dir of [join(root, 'etc'), join(root, 'etc', 'luks-ssm')]) await chmod(dir, 0o755);
  for (const file of await listFiles(join(root, 'etc'))) await chmod(join(root, 'etc', file), 0o644);
  return { root, confDir: join(root, 'etc', 'luks-ssm'), defaultsFile: join(root, 'etc', 'defaults') };
}

const placeholders = (paths: { confDir: string; defaultsFile: string }) => (text: string) =>
  text.replaceAll(paths.confDir, '@CONF_DIR@').replaceAll(paths.defaultsFile, '@DEFAULTS@');

const cases = (await readdir(GOLDEN)).sort();

describe('generator golden files', () => {
  it.each(cases)('%s', async (name) => {
    const paths = await stageInput(name);
    const out = join(paths.root, 'run', 'systemd', 'generator');
    await mkdir(out, { recursive: true });
    const warnings: string[] = [];
    const result = await generateUnits(out, { ...paths, fstabPath: join(paths.root, 'etc', 'fstab'), env: {}, requireRootOwned: false, warn: (line) => warnings.push(line) });

    const redact = placeholders(paths);
    const actual = new Map<string, string>();
    for (const file of await listFiles(out)) actual.set(file, redact(await readFile(join(out, file), 'utf8')));
    const actualWarnings = warnings.map(redact).join('\n') + (warnings.length ? '\n' : '');
    const expectedDir = join(GOLDEN, name, 'expected');
    if (UPDATE) {
      await rm(expectedDir, { recursive: true, force: true });
      for (const [file, text] of actual) {
        await mkdir(dirname(join(expectedDir, file)), { recursive: true });
        await writeFile(join(expectedDir, file), text);
      }
      await writeFile(join(GOLDEN, name, 'warnings.txt'), actualWarnings);
    }

    const expectedFiles = await listFiles(expectedDir);
    expect([...actual.keys()]).toEqual(expectedFiles);
    for (const file of expectedFiles) expect(actual.get(file), file).toBe(await readFile(join(expectedDir, file), 'utf8'));
    expect(actualWarnings).toBe(await readFile(join(GOLDEN, name, 'warnings.txt'), 'utf8'));
    expect(result.files.sort()).toEqual(expectedFiles);
    expect(result.skipped.length).toBe(warnings.length);
  });
});

describe('generator input paths', () => {
  it('defaults to /etc and follows LUKS_SSM_CONF_DIR and LUKS_SSM_DEFAULTS', () => {
    expect(generatorPathsFromEnv({})).toEqual({ confDir: '/etc/luks-ssm', defaultsFile: '/etc/default/luks-ssm' });
    expect(generatorPathsFromEnv({ LUKS_SSM_CONF_DIR: '/x/conf', LUKS_SSM_DEFAULTS: '/x/defaults' })).toEqual({ confDir: '/x/conf', defaultsFile: '/x/defaults' });
  });

  it('writes nothing and warns when the config directory cannot be listed', async () => {
    const root = await mkdtemp(join(tmpdir(), 'luks-ssm-gen-'));
    temps.push(root);
    await writeFile(join(root, 'luks-ssm'), 'a file where a directory should be');
    const warnings: string[] = [];
    const result = await generateUnits(join(root, 'out'), { confDir: join(root, 'luks-ssm'), defaultsFile: join(root, 'none'), fstabPath: join(root, 'none'), env: {}, requireRootOwned: false, warn: (l) => warnings.push(l) });
    expect(result).toEqual({ volumes: [], skipped: [], files: [] });
    expect(warnings).toEqual([`Failed to list ${join(root, 'luks-ssm')}: ENOTDIR, ignoring.`]);
  });

  it('writes each volume all or none: a write failure skips that volume only, leaving none of its files (#10 item 5)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'luks-ssm-gen-'));
    temps.push(root);
    const confDir = join(root, 'luks-ssm');
    await mkdir(confDir, { mode: 0o755 });
    await chmod(root, 0o755);
    for (const v of ['a', 'b']) {
      await writeFile(join(confDir, `${v}.conf`), `LUKS_DEVICE=/dev/xvd${v}\nLUKS_DEVICE_MAP=${v}\nLUKS_DEVICE_MOUNT_POINT=/srv/${v}\nSSM_PATH=/luks/${v}\nSSM_REGION=us-east-1\n`, { mode: 0o644 });
    }
    const out = join(root, 'out');
    await mkdir(out);
    // A file where volume a's drop-in directory goes: its mount unit is written first, then the drop-in fails.
    await writeFile(join(out, 'luks-ssm@a.service.d'), '');
    const warnings: string[] = [];
    const result = await generateUnits(out, { confDir, defaultsFile: join(root, 'none'), fstabPath: join(root, 'none'), env: {}, requireRootOwned: false, warn: (l) => warnings.push(l) });
    expect(result.volumes).toEqual(['b']);
    expect(result.skipped).toEqual(['a']);
    expect(warnings).toEqual([`Volume 'a': Failed to write its units: EEXIST, ignoring.`]);
    expect((await listFiles(out)).filter((f) => /(^|-)a[.]|@a[.]/.test(f))).toEqual(['luks-ssm@a.service.d']);
    expect(await listFiles(out)).toContain('srv-b.mount');
  });
});

describe('a skipped volume\'s guard (review 15)', () => {
  /** A conf dir and defaults file as root leaves them; `data.conf` has a typo'd key, so the volume is skipped. */
  async function stage(): Promise<{ root: string; confDir: string; defaultsFile: string; out: string }> {
    const root = await mkdtemp(join(tmpdir(), 'luks-ssm-gen-'));
    temps.push(root);
    await chmod(root, 0o755);
    const confDir = join(root, 'luks-ssm');
    await mkdir(confDir, { mode: 0o755 });
    const defaultsFile = join(root, 'defaults');
    await writeFile(defaultsFile, 'SSM_REGION=us-east-1\nREQUIRED_BY=from-defaults.service\n', { mode: 0o644 });
    await writeFile(join(confDir, 'data.conf'), 'LUKS_DEVICE=/dev/xvdf\nLUKS_DEVICE_MAP=data\nLUKS_DEVICE_MOUNT_POINT=/srv/data\nSSM_PATH=/luks/data\nTIMEOUT_SECS=9\nREQUIRED_BY=app.service\n', { mode: 0o644 });
    return { root, confDir, defaultsFile, out: join(root, 'out') };
  }
  const generate = (s: { root: string; confDir: string; defaultsFile: string; out: string }) =>
    generateUnits(s.out, { confDir: s.confDir, defaultsFile: s.defaultsFile, fstabPath: join(s.root, 'fstab'), env: {}, requireRootOwned: true, warn: () => {} });

  it('takes the two settings from the files root alone can change: a group-writable defaults file gives nothing', async () => {
    const s = await stage();
    await chmod(s.defaultsFile, 0o664);
    const result = await generate(s);
    expect(result).toMatchObject({ volumes: [], skipped: ['data'] });
    expect(await listFiles(s.out)).toEqual(['app.service.d/50-luks-ssm-data.conf', 'srv-data.mount']);
  });

  it('writes nothing from a volume file others can write: its REQUIRED_BY must not add Requires= to other units', async () => {
    const s = await stage();
    await chmod(join(s.confDir, 'data.conf'), 0o666);
    const result = await generate(s);
    expect(result).toMatchObject({ volumes: [], skipped: ['data'] });
    expect(await listFiles(s.out)).toEqual(['from-defaults.service.d/50-luks-ssm-data.conf']);
  });

  it('lets a valid volume keep its mount unit when a broken copy of its config sorts first (review 17)', async () => {
    const s = await stage();
    await writeFile(join(s.confDir, 'zz-data.conf'), 'LUKS_DEVICE=/dev/xvdf\nLUKS_DEVICE_MAP=zz\nLUKS_DEVICE_MOUNT_POINT=/srv/data\nSSM_PATH=/luks/zz\nREQUIRED_BY=db.service\n', { mode: 0o644 });
    await writeFile(join(s.confDir, 'data.conf'), 'LUKS_DEVICE=/dev/xvdg\nLUKS_DEVICE_MAP=data\nLUKS_DEVICE_MOUNT_POINT=/srv/data\nSSM_PATH=/luks/data\nTIMEOUT_SECS=9\nREQUIRED_BY=app.service\n', { mode: 0o644 });
    const result = await generate(s);
    expect(result).toMatchObject({ volumes: ['zz-data'], skipped: ['data'] });
    expect(await readFile(join(s.out, 'srv-data.mount'), 'utf8')).toContain('Requires=luks-ssm@zz-data.service');
    expect(await readFile(join(s.out, 'app.service.d/50-luks-ssm-data.conf'), 'utf8')).toContain('Requires=luks-ssm@data.service srv-data.mount');
  });

  it('leaves the mount unit of a mount point /etc/fstab names to systemd-fstab-generator, and still writes the drop-ins', async () => {
    const s = await stage();
    await writeFile(join(s.root, 'fstab'), '# <file system> <dir> <type>\n/dev/mapper/data  /srv/data/  ext4  defaults  0  2\n');
    const result = await generate(s);
    expect(result).toMatchObject({ volumes: [], skipped: ['data'] });
    expect(await listFiles(s.out)).toEqual(['app.service.d/50-luks-ssm-data.conf']);
  });

  it('never writes a path twice: the timeout drop-in is not the dependent drop-in of a volume named "timeout"', async () => {
    const s = await stage();
    await writeFile(join(s.confDir, 'data.conf'), 'LUKS_DEVICE=/dev/xvdf\nLUKS_DEVICE_MAP=data\nLUKS_DEVICE_MOUNT_POINT=/srv/app/db\nSSM_PATH=/luks/data\n', { mode: 0o644 });
    await writeFile(join(s.confDir, 'timeout.conf'), 'LUKS_DEVICE=/dev/xvdg\nLUKS_DEVICE_MAP=outer\nLUKS_DEVICE_MOUNT_POINT=/srv/app\nSSM_PATH=/luks/outer\nREQUIRED_BY=luks-ssm@data.service\n', { mode: 0o644 });
    const result = await generate(s);
    expect(result).toMatchObject({ volumes: ['data', 'timeout'], skipped: [] });
    const ordering = await readFile(join(s.out, 'luks-ssm@data.service.d/50-luks-ssm-timeout.conf'), 'utf8');
    expect(ordering).toContain('Requires=luks-ssm@timeout.service srv-app.mount');
    expect(await readFile(join(s.out, 'luks-ssm@data.service.d/49-luks-ssm-timeout.conf'), 'utf8')).toContain('TimeoutStartSec=');
  });
});
