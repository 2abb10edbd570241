// Only root may be able to change a config file: it decides which device is opened and where it is mounted.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadVolumeConfig } from '../../src/config/index.ts';
import { NOBODY, openDir, removeDir, stageBundle, stageNode } from '../support/other-user.ts';
import { failureOf, makeDir, optionsFor, REQUIRED_LINES, writeConf } from './temp-config.ts';

const isRoot = process.getuid?.() === 0;
const STRICT = { requireRootOwned: undefined }; // the default: root ownership required

describe('writable by group or others', () => {
  it.each([[0o664, '0664'], [0o602, '0602'], [0o666, '0666']])('refuses a volume file with mode %s', async (mode, shown) => {
    const dir = makeDir();
    const file = writeConf(dir, 'data.conf', REQUIRED_LINES, mode);
    const error = await failureOf(() => loadVolumeConfig(optionsFor(dir)));
    expect([error.kind, error.message]).toEqual(['CONFIG', `${file}: writable by group/others (mode ${shown}), refusing; run: chmod go-w ${file}`]);
  });

  it('refuses a writable directory, and a writable defaults file', async () => {
    const dir = makeDir();
    writeConf(dir, 'data.conf', REQUIRED_LINES);
    chmodSync(dir, 0o775);
    expect((await failureOf(() => loadVolumeConfig(optionsFor(dir)))).message).toBe(
      `${dir}: writable by group/others (mode 0775), refusing; run: chmod go-w ${dir}`,
    );
    chmodSync(dir, 0o755);
    const defaults = writeConf(dir, 'defaults', ['TIMEOUT_SEC=60'], 0o646);
    expect((await failureOf(() => loadVolumeConfig(optionsFor(dir, { defaultsFile: defaults })))).message).toBe(
      `${defaults}: writable by group/others (mode 0646), refusing; run: chmod go-w ${defaults}`,
    );
  });

  it('accepts 0600, 0640 and 0644 files in a 0755 directory', async () => {
    const dir = makeDir();
    chmodSync(dir, 0o755);
    for (const mode of [0o600, 0o640, 0o644]) {
      writeConf(dir, 'data.conf', REQUIRED_LINES, mode);
      expect((await loadVolumeConfig(optionsFor(dir, STRICT))).device).toBe('/dev/xvdf');
    }
  });
});

describe.skipIf(!isRoot)('owned by root (runs as root)', () => {
  it('accepts root-owned files by default', async () => {
    const dir = makeDir();
    writeConf(dir, 'data.conf', REQUIRED_LINES);
    expect((await loadVolumeConfig(optionsFor(dir, STRICT))).mapName).toBe('data');
  });

  it('refuses a file or directory owned by another user, unless requireRootOwned is false', async () => {
    const dir = makeDir();
    const file = writeConf(dir, 'data.conf', REQUIRED_LINES);
    chownSync(file, 1000, 1000);
    const error = await failureOf(() => loadVolumeConfig(optionsFor(dir, STRICT)));
    expect([error.kind, error.message]).toEqual(['CONFIG', `${file}: owned by uid 1000, not root, refusing; run: chown root: ${file}`]);
    expect((await loadVolumeConfig(optionsFor(dir))).mapName).toBe('data');
    chownSync(file, 0, 0);
    chownSync(dir, 1000, 1000);
    expect((await failureOf(() => loadVolumeConfig(optionsFor(dir, STRICT)))).message).toBe(
      `${dir}: owned by uid 1000, not root, refusing; move the config into a directory only root can write (as /etc/luks-ssm), not ${dir}'s owner or mode`,
    );
  });

  it('says to move a config out of a shared sticky directory such as /tmp, not to chmod it (review 8)', async () => {
    const dir = makeDir();
    writeConf(dir, 'data.conf', REQUIRED_LINES);
    chmodSync(dir, 0o1777);
    const error = await failureOf(() => loadVolumeConfig(optionsFor(dir)));
    expect([error.kind, error.message]).toEqual(['CONFIG', `${dir}: writable by group/others (mode 1777), refusing; move the config into a directory only root can write (as /etc/luks-ssm), not ${dir}'s owner or mode`]);
  });

  it('reports a file the caller cannot read as PERMISSION (exit 4)', async () => {
    const dir = makeDir();
    chmodSync(dir, 0o755);
    const file = writeConf(dir, 'data.conf', REQUIRED_LINES, 0o600);
    // nobody runs a bundle of src/config with a Node of its own in a 0755 dir: the checkout may be unreachable (0700).
    const staged = await openDir('luks-ssm-nobody-');
    try {
      const [node, bundle] = await Promise.all([stageNode(staged), stageBundle(staged, 'src/config/index.ts')]);
      const script = [
        `const { loadVolumeConfig } = require(${JSON.stringify(bundle)});`,
        `loadVolumeConfig(${JSON.stringify(optionsFor(dir))}).then(() => console.log('loaded'),`,
        '  (e) => console.log(JSON.stringify({ kind: e.kind, exitCode: e.exitCode, message: e.message })));',
      ].join('\n');
      const child = spawnSync(node, ['-e', script], { uid: NOBODY, gid: NOBODY, cwd: staged, encoding: 'utf8', timeout: 20_000 });
      expect(child.stderr).toBe('');
      expect(JSON.parse(child.stdout)).toEqual({ kind: 'PERMISSION', exitCode: 4, message: `${file}: permission denied` });
    } finally {
      await removeDir(staged);
    }
  });
});

describe('not a small regular text file', () => {
  it('refuses a directory, a FIFO (without blocking), a huge file and non-UTF-8 bytes', async () => {
    const dir = makeDir();
    mkdirSync(join(dir, 'data.conf'));
    expect((await failureOf(() => loadVolumeConfig(optionsFor(dir)))).message).toBe(`${join(dir, 'data.conf')}: not a regular file, refusing`);
    const fifo = join(dir, 'fifo.conf');
    expect(spawnSync('mkfifo', ['-m', '0600', fifo]).status).toBe(0);
    expect((await failureOf(() => loadVolumeConfig(optionsFor(dir, { configFile: fifo })))).message).toBe(`${fifo}: not a regular file, refusing`);
    const huge = writeConf(dir, 'huge.conf', [...REQUIRED_LINES, `# ${'x'.repeat(64 * 1024)}`]);
    expect((await failureOf(() => loadVolumeConfig(optionsFor(dir, { configFile: huge })))).message).toBe(`${huge}: larger than 64 KiB, refusing`);
    const latin1 = join(dir, 'latin1.conf');
    writeFileSync(latin1, Buffer.from('# caf\xe9\nLUKS_DEVICE=/dev/xvdf\n', 'latin1'), { mode: 0o600 });
    expect((await failureOf(() => loadVolumeConfig(optionsFor(dir, { configFile: latin1 })))).message).toBe(`${latin1}: not UTF-8 text, refusing`);
  });
});
