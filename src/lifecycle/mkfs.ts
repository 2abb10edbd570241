// `enroll --format --mkfs`: a filesystem inside the new volume, made only over nothing (resumable, never over data).
import { UnlockError } from '../errors.ts';
import { closeLuks, mappingStatus, openLuks } from '../luks/cryptsetup.ts';
import { describeContents, hasDataInSegment, makeFilesystem, probeDevice } from '../luks/format.ts';
import type { Secret } from '../secret/secret.ts';
import type { VolumeConfig } from '../types.ts';
import { mapperPath } from '../volume/inspect.ts';
import { step, type LifecycleDeps } from './steps.ts';

/**
 * Opens the volume under LUKS_DEVICE_MAP, makes LUKS_DEVICE_FS unless wipefs finds a signature, and closes it again.
 * A volume this run did not format (enroll run again) gets a filesystem only while nothing was ever written
 * through it: its data area still all zeros. wipefs knows no signature for raw database files or exotic
 * filesystems, so "no signature" alone is no proof of emptiness (#10 item 12).
 */
export async function makeFilesystemOnVolume(
  deps: LifecycleDeps,
  config: VolumeConfig,
  device: string,
  secret: Secret,
  report: { say(line: string): void; changed: boolean },
  opts: { formattedNow?: boolean } = {},
): Promise<void> {
  const mapped = mapperPath(config.mapName);
  if ((await mappingStatus(deps.run, config.mapName, { sysRoot: deps.sysRoot })).active) {
    throw new UnlockError('MOUNT_REFUSED', `${mapped} is already open, refusing to make a filesystem on it`, { hint: `close it first: luks-ssm stop ${config.volume}` });
  }
  const written = !opts.formattedNow && (await hasDataInSegment(deps.run, device));
  await openLuks(deps.run, device, config.mapName, secret);
  try {
    // Only signatures count: a fresh LUKS mapping reads as random bytes (the zeros underneath, decrypted).
    const contents = await probeDevice(deps.run, mapped);
    if (contents.signatures.length > 0) {
      report.say(`${mapped} already has ${describeContents(contents)}: no filesystem made`);
      return;
    }
    if (written) {
      throw new UnlockError('MOUNT_REFUSED', `${device} already opens with the stored key and its data area is not empty, refusing to make a filesystem on ${mapped}`, {
        hint: `luks-ssm never makes a filesystem over data; if it really holds nothing, run mkfs -t ${config.fsType} on the opened volume yourself`,
      });
    }
    await step(deps, report, 'mkfs', `made a ${config.fsType} filesystem on ${mapped}`, () => makeFilesystem(deps.run, mapped, config.fsType));
  } finally {
    await closeLuks(deps.run, config.mapName);
  }
}
