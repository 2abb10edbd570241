// `luks-ssm migrate --from /etc/default/luks-mount <volume>`: the luks-mount keys are ours unchanged, so migrating is
// copy, validate (the loader already did), check against the device and AWS, and print how to switch units over.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { checkVolume, formatCheckStep } from '../volume/check.ts';
import { volumeConfigPath } from '../config/volumes.ts';
import { exitCodeOf, UnlockError } from '../errors.ts';
import type { VolumeDeps } from '../volume/deps.ts';
import type { VolumeConfig } from '../types.ts';

/** The unit the luks-mount.sh design installs; named in the printed commands. */
export const OLD_UNIT = 'luks-mount.service';

export interface MigrateIo {
  stdout: (text: string) => void;
  env: Record<string, string | undefined>;
}

export async function runMigrate(config: VolumeConfig, apply: boolean, deps: VolumeDeps, io: MigrateIo): Promise<number> {
  const from = config.sources.at(-1) as string;
  const target = volumeConfigPath(io.env.LUKS_SSM_CONF_DIR ?? '/etc/luks-ssm', config.volume);
  const original = await readFile(from, 'utf8');
  const text = `# Migrated from ${from} by luks-ssm migrate: luks-mount keys are read unchanged.\n${original}`;
  io.stdout(`${from}: valid luks-ssm config for volume ${config.volume}\n`);

  // Each check line as its step ends, as `luks-ssm check` prints them.
  const report = await checkVolume(deps, config, (step) => io.stdout(formatCheckStep(step)));
  const existing = await readFile(target, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new UnlockError('PERMISSION', `Failed to read ${target}: ${error.code ?? 'error'}`);
  });
  const same = existing !== undefined && (existing === text || existing === original);
  if (existing !== undefined && !same) {
    throw new UnlockError('CONFIG', `${target} already exists with other content, refusing to overwrite it`, { hint: `compare: diff ${from} ${target}` });
  }
  if (report.failure !== undefined) {
    io.stdout(`check failed: fix that before switching over${apply ? '; nothing written' : ''}\n`);
    return report.failure.exitCode;
  }
  if (same) {
    io.stdout(`${target} already holds this config\n`);
  } else if (apply) {
    await writeAtomically(target, text);
    io.stdout(`wrote ${target}\n`);
  } else {
    io.stdout(`would write ${target} (a copy of ${from}); run again with --apply to write it\n`);
  }
  io.stdout(switchOver(config));
  return exitCodeOf('OK');
}

/** Mode 0600 from the start (the file names the parameter and the device), renamed into place. */
async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const temp = `${path}.migrate-${process.pid}`;
  try {
    await writeFile(temp, text, { mode: 0o600, flag: 'wx' });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw new UnlockError('PERMISSION', `Failed to write ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error, hint: 'run luks-ssm migrate as root' });
  }
}

/** Printed, never run: switching stops the old unit, which unmounts the volume (a maintenance window). */
export function switchOver(config: VolumeConfig): string {
  const unit = `luks-ssm@${config.volume}.service`;
  const dependents = config.requiredBy.length > 0 ? config.requiredBy.join(' ') : undefined;
  return [
    'To switch over (stops and starts the volume; run in a maintenance window):',
    ...(dependents ? [`  systemctl stop ${dependents}`] : []),
    `  systemctl disable --now ${OLD_UNIT}     # the luks-mount.sh unit; unmounts and closes ${config.mapName}`,
    `  luks-ssm enable ${config.volume}                # enables ${unit}${dependents ? ' and orders REQUIRED_BY after it' : ''}`,
    `  systemctl start ${unit}`,
    ...(dependents ? [`  systemctl start ${dependents}`] : []),
    `  luks-ssm status ${config.volume}`,
    '',
  ].join('\n');
}
