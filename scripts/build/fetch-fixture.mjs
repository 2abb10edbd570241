// A volume whose passphrase sits in the emulator on loopback: what the code-cache warm-up and the bench fetch.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const EMULATOR = new URL('../../test/emulator/index.ts', import.meta.url).href;
export const FIXTURE_VOLUME = 'bench';
const PARAMETER = '/luks-ssm/bench/passphrase';

/**
 * Starts the emulator, stores a passphrase and writes the volume's config. `env` is the whole environment
 * for the child: no NODE_OPTIONS, no NODE_EXTRA_CA_CERTS, HOME in the temp dir (no ~/.aws of this machine).
 */
export async function startFetchFixture() {
  const { startEmulator } = await import(EMULATOR);
  const emulator = await startEmulator();
  const dir = await mkdtemp(join(tmpdir(), 'luks-ssm-bench-'));
  try {
    const keyId = await emulator.createKey();
    await emulator.putParameter(PARAMETER, 'correct horse battery staple', { keyId });
    const configFile = join(dir, `${FIXTURE_VOLUME}.conf`);
    const config = [
      'LUKS_DEVICE=/dev/disk/by-id/bench-not-used',
      `LUKS_DEVICE_MAP=luks-ssm-${FIXTURE_VOLUME}`,
      `LUKS_DEVICE_MOUNT_POINT=${join(dir, 'mnt')}`,
      `SSM_PATH=${PARAMETER}`,
      `SSM_REGION=${emulator.region}`,
      `SSM_ENDPOINT=${emulator.url}`,
      `KMS_ENDPOINT=${emulator.url}`,
      `IMDS_ENDPOINT=${emulator.url}`,
    ];
    await writeFile(configFile, `${config.join('\n')}\n`, { mode: 0o600 });
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      ...emulator.env(),
      LUKS_SSM_CONF_DIR: join(dir, 'conf.d'),
      LUKS_SSM_DEFAULTS: join(dir, 'defaults'),
      LUKS_SSM_RUN_DIR: join(dir, 'run'),
    };
    return {
      args: ['fetch', FIXTURE_VOLUME, '--config', configFile],
      env,
      emulator,
      parameter: PARAMETER,
      async stop() {
        await emulator.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await emulator.stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
