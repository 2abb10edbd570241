// A per-file scratch area laid out like a host: config dir, run dir, HOME, /dev root; and the child's env.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Emulator } from '../emulator/index.ts';
import { childEnv } from '../support/cli.ts';
import { createSysfs } from '../support/fake-sysfs.ts';

export interface Workspace {
  dir: string;
  /** LUKS_SSM_CONF_DIR */
  confDir: string;
  /** LUKS_SSM_RUN_DIR */
  runDir: string;
  /** LUKS_SSM_DEV_ROOT: an empty /dev unless a test puts nodes in it. */
  devRoot: string;
  /** LUKS_SSM_SYS_ROOT: a sysfs with one disk and no device-mapper device, unless a fake cryptsetup opens one. */
  sysRoot: string;
  home: string;
  cleanup(): Promise<void>;
}

export async function createWorkspace(prefix: string): Promise<Workspace> {
  // mkdtemp makes 0700 directories: config files refuse to live in a directory others can write.
  const dir = await mkdtemp(join(tmpdir(), `luks-ssm-${prefix}-`));
  const ws = { dir, confDir: join(dir, 'etc'), runDir: join(dir, 'run'), devRoot: join(dir, 'dev'), sysRoot: join(dir, 'sys'), home: join(dir, 'home') };
  for (const path of [ws.confDir, ws.devRoot, ws.home]) await mkdir(path, { mode: 0o700 });
  createSysfs(ws.sysRoot);
  return { ...ws, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes `<confDir>/<volume>.conf` (mode 0600 unless told) from KEY=value pairs, in order. */
export async function writeVolumeConfig(ws: Workspace, volume: string, settings: Record<string, string>, mode = 0o600): Promise<string> {
  const path = join(ws.confDir, `${volume}.conf`);
  const lines = Object.entries(settings).map(([key, value]) => `${key}=${value}`);
  await writeFile(path, `# ${volume}: written by a CLI integration test\n${lines.join('\n')}\n`, { mode });
  await chmod(path, mode);
  return path;
}

export interface EnvOptions {
  /** Default true: AWS_REGION from the emulator. */
  withRegion?: boolean;
  /** Default true: static keys in the environment; false leaves credentials to IMDS. */
  withCredentials?: boolean;
  /** Program directory searched first (fake cryptsetup/mount/umount): LUKS_SSM_TEST_EXEC_PATH. */
  binDir?: string;
  extra?: Record<string, string>;
}

/** Every AWS and IMDS endpoint is the emulator on 127.0.0.1; every system path is the workspace's. */
export function volumeEnv(ws: Workspace, emulator: Emulator, opts: EnvOptions = {}): Record<string, string> {
  const base = childEnv(ws.home, emulator.env({ withRegion: opts.withRegion ?? true, withCredentials: opts.withCredentials ?? true }));
  return {
    ...base,
    ...(opts.binDir ? { LUKS_SSM_TEST_EXEC_PATH: opts.binDir } : {}),
    LUKS_SSM_CONF_DIR: ws.confDir,
    LUKS_SSM_DEFAULTS: join(ws.dir, 'no-defaults'),
    LUKS_SSM_RUN_DIR: ws.runDir,
    LUKS_SSM_DEV_ROOT: ws.devRoot,
    LUKS_SSM_SYS_ROOT: ws.sysRoot,
    ...opts.extra,
  };
}
