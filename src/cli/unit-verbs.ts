// `enable` / `disable`: hand the volume to systemd (over D-Bus when it is there, as files when it is not).
import { exitCodeOf } from '../errors.ts';
import { disableVolume, enableVolume } from '../systemd/enable.ts';
import type { VerbIo } from './verbs.ts';
import type { VolumeDeps } from '../volume/deps.ts';
import type { VolumeConfig } from '../types.ts';

export async function runUnitVerb(verb: 'enable' | 'disable', config: VolumeConfig, deps: VolumeDeps, io: VerbIo): Promise<number> {
  const bus = await io.bus.get();
  const result = verb === 'enable' ? await enableVolume(config, bus) : await disableVolume(config.volume, bus);
  for (const message of result.messages) io.stdout(`${message}\n`);
  if (!result.applied) deps.log.warn({ volume: config.volume }, `${verb} written to disk only; systemd was not told`);
  return exitCodeOf('OK');
}
