// Test helper: a VolumeConfig for lifecycle tests, pointed at an emulator (or a region router) over loopback.
import type { VolumeConfig } from '../../src/types.ts';
import type { Emulator } from '../emulator/index.ts';
import { FAST_PBKDF } from './images.ts';

export function lifecycleConfig(endpoint: string, over: Partial<VolumeConfig> = {}): VolumeConfig {
  return {
    volume: 'data',
    sources: ['/etc/luks-ssm/data.conf'],
    device: '/dev/test-data',
    mapName: 'data',
    fsType: 'ext4',
    mountOptions: 'defaults',
    mountPoint: '/data',
    mountPointMode: 0o700,
    mountOverNonEmpty: false,
    ssmPath: '/luks/data',
    ssmSelector: undefined,
    ssmValueEncoding: 'text',
    region: 'us-east-1',
    endpoints: { ssm: endpoint, kms: endpoint, imds: endpoint },
    timeoutSec: 20,
    deviceTimeoutSec: 2,
    requiredBy: [],
    keySource: 'ssm',
    kmsContextInstanceId: false,
    ssmHistoryFallback: 3,
    fallbackRegions: [],
    pbkdf: FAST_PBKDF,
    ...over,
  };
}

/** Credentials only: endpoints and region come from the config, as on a host. */
export function credentialsEnv(emulator: Emulator): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}
