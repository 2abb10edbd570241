// The scene most error tests share: an emulator holding the passphrase of one LUKS image, /dev/disk0.
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../emulator/index.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { formatLuksImage } from './luks-image.ts';
import { createWorkspace, volumeEnv, writeVolumeConfig, type EnvOptions, type Workspace } from './workspace.ts';

export const DISK0_KEY = Buffer.from('one-disk passphrase\n');

export interface OneDisk {
  emulator: Emulator;
  ws: Workspace;
  /** The image behind /dev/disk0, as the CLI prints it (realpath). */
  disk0: string;
  /**
   * Writes a valid volume config on /dev/disk0 reading its own parameter /luks/<name> (which holds disk0's key: a
   * parameter two configs name makes check warn), with `over` on top; returns its path.
   */
  volume(name: string, over?: Record<string, string>): Promise<string>;
  /** Every parameter the scene's emulator holds disk0's key in (a test's own emulator needs them too). */
  parameters(): string[];
  /** `luks-ssm check <name>` against `on` (default: the scene's emulator). */
  check(name: string, opts?: EnvOptions, on?: Emulator): Promise<CliResult>;
  /** What check prints before the key step for the config `file`. */
  okUntilKey(file: string): string[];
  tearDown(): Promise<void>;
}

export async function setUpOneDisk(prefix: string): Promise<OneDisk> {
  const emulator = await startEmulator();
  const ws = await createWorkspace(prefix);
  await formatLuksImage(join(ws.devRoot, 'disk0'), DISK0_KEY);
  const parameters = ['/luks/disk0'];
  emulator.putParameter('/luks/disk0', DISK0_KEY.toString('utf8'));
  const disk0 = join(await realpath(ws.devRoot), 'disk0');
  return {
    emulator,
    ws,
    disk0,
    volume: (name, over = {}) => {
      if (over.SSM_PATH === undefined) {
        parameters.push(`/luks/${name}`);
        emulator.putParameter(`/luks/${name}`, DISK0_KEY.toString('utf8'));
      }
      return writeVolumeConfig(ws, name, { LUKS_DEVICE: '/dev/disk0', LUKS_DEVICE_MAP: name, LUKS_DEVICE_MOUNT_POINT: `/srv/${name}`, SSM_PATH: `/luks/${name}`, ...over });
    },
    parameters: () => [...parameters],
    check: (name, opts = {}, on = emulator) => runCli(['check', name], { env: volumeEnv(ws, on, opts) }),
    okUntilKey: (file) => [`ok    config   ${file}`, `ok    device   /dev/disk0 -> ${disk0}`, 'ok    luks     LUKS header found'],
    async tearDown() {
      await emulator.stop();
      await ws.cleanup();
    },
  };
}
