// `enroll --format --mkfs`: a filesystem inside the new volume, made only while the mapping has no signature (resumable).
import { UnlockError } from '../errors.ts';
import { closeLuks, mappingStatus, openLuks } from '../luks/cryptsetup.ts';
import { describeContents, makeFilesystem, probeDevice } from '../luks/format.ts';
import type { Secret } from '../secret/secret.ts';
import type { VolumeConfig } from '../types.ts';
import { mapperPath } from '../volume/inspect.ts';
import { step, type LifecycleDeps } from './steps.ts';

/** Opens the volume under LUKS_DEVICE_MAP, makes LUKS_DEVICE_FS unless wipefs finds a signature, and closes it again. */
export async function makeFilesystemOnVolume(deps: LifecycleDeps, config: VolumeConfig, device: string, secret: Secret, report: { say(line: string): void; changed: boolean }): Promise<void> {
  const mapped = mapperPath(config.mapName);
  if ((await mappingStatus(deps.run, config.mapName)).active) {
    throw new UnlockError('MOUNT_REFUSED', `${mapped} is already open, refusing to make a filesystem on it`, { hint: `close it first: luks-ssm stop ${config.volume}` });
  }
  await openLuks(deps.run, device, config.mapName, secret);
  try {
    // Only signatures count: a fresh LUKS mapping reads as random bytes (the zeros underneath, decrypted).
    const contents = await probeDevice(deps.run, mapped);
    if (contents.signatures.length > 0) {
      report.say(`${mapped} already has ${describeContents(contents)}: no filesystem made`);
      return;
    }
    await step(deps, report, 'mkfs', `made a ${config.fsType} filesystem on ${mapped}`, () => makeFilesystem(deps.run, mapped, config.fsType));
  } finally {
    await closeLuks(deps.run, config.mapName);
  }
}
