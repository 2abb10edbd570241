// A volume whose passphrase sits in the emulator on loopback: what the code-cache warm-up and the bench fetch.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator } from '../../test/emulator/index.ts';

export const FIXTURE_VOLUME = 'bench';
export const FIXTURE_PARAMETER = '/luks-ssm/bench/passphrase';
/** What the fixture stores: tests check it never shows up in any output. */
export const FIXTURE_PASSPHRASE = 'correct horse battery staple';
/** What `luks-ssm fetch` prints once the passphrase is in hand (its size, never the bytes). */
export const FETCHED = /^fetched \d+ bytes/m;
/** luks-ssm refuses config files not owned by root, so only root can run the fixture's fetch. */
export const CAN_FETCH = process.getuid?.() === 0;

export interface FetchFixture {
  /** The fixture's temp dir (removed by stop). */
  dir: string;
  /** The volume's config file. */
  configFile: string;
  /** luks-ssm arguments: `fetch <volume> --config <file>`. */
  args: string[];
  /** The whole environment for the child: no NODE_OPTIONS, no NODE_EXTRA_CA_CERTS, HOME in the temp dir. */
  env: Record<string, string>;
  /** The same without credentials in the environment: they come from instance metadata, as at boot. */
  imdsEnv: Record<string, string>;
  emulator: Awaited<ReturnType<typeof startEmulator>>;
  stop(): Promise<void>;
}

function configLines(dir: string, url: string, region: string): string[] {
  return [
    'LUKS_DEVICE=/dev/disk/by-id/bench-not-used',
    `LUKS_DEVICE_MAP=luks-ssm-${FIXTURE_VOLUME}`,
    `LUKS_DEVICE_MOUNT_POINT=${join(dir, 'mnt')}`,
    `SSM_PATH=${FIXTURE_PARAMETER}`,
    `SSM_REGION=${region}`,
    `SSM_ENDPOINT=${url}`,
    `KMS_ENDPOINT=${url}`,
    `IMDS_ENDPOINT=${url}`,
  ];
}

/** Starts the emulator, stores the passphrase and writes the volume's config in a temp dir. */
export async function startFetchFixture(): Promise<FetchFixture> {
  const emulator = await startEmulator();
  const dir = await mkdtemp(join(tmpdir(), 'luks-ssm-bench-'));
  const stop = async () => {
    await emulator.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const { keyId } = emulator.createKey();
    emulator.putParameter(FIXTURE_PARAMETER, FIXTURE_PASSPHRASE, { keyId });
    const configFile = join(dir, `${FIXTURE_VOLUME}.conf`);
    await writeFile(configFile, `${configLines(dir, emulator.url, emulator.region).join('\n')}\n`, { mode: 0o600 });
    const envWith = (aws: Record<string, string>) => ({
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      ...aws,
      LUKS_SSM_CONF_DIR: join(dir, 'conf.d'),
      LUKS_SSM_DEFAULTS: join(dir, 'defaults'),
      LUKS_SSM_RUN_DIR: join(dir, 'run'),
    });
    return {
      dir,
      configFile,
      args: ['fetch', FIXTURE_VOLUME, '--config', configFile],
      env: envWith(emulator.env()),
      imdsEnv: envWith(emulator.env({ withCredentials: false })),
      emulator,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
