// `luks-ssm enable|disable <volume>`: the boot-time enablement of luks-ssm@<volume>.service, over D-Bus or offline.
import { lstat, mkdir, stat, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { UnlockError } from '../errors.ts';
import type { VolumeConfig } from '../types.ts';
import type { SystemdBus } from './manager.ts';
import { TARGET_NAME, isValidInstance, serviceNameOf } from './unit-name.ts';

/**
 * Only the enablement symlinks are written: the mount unit and drop-ins come from the generator alone, so
 * they follow the config at every boot and daemon-reload and can never go stale in /etc (where they would
 * also shadow the generator's fresh ones). One source of unit text: src/systemd/unit-text.ts.
 */
export interface EnablePaths {
  /** Where `systemctl enable` puts symlinks: /etc/systemd/system. */
  unitDir: string;
  /** The installed template the volume's symlink points to. */
  templatePath: string;
  /** The installed luks-ssm.target, which multi-user.target wants. */
  targetPath: string;
}

/** Where packages install units: /usr/lib/…, or /lib/… on a system without merged /usr (Debian 11, an upgraded Ubuntu 20.04). */
export const VENDOR_UNIT_DIRS = ['/usr/lib/systemd/system', '/lib/systemd/system'] as const;

export function enablePathsIn(vendorDir: string, unitDir = '/etc/systemd/system'): EnablePaths {
  return { unitDir, templatePath: join(vendorDir, 'luks-ssm@.service'), targetPath: join(vendorDir, 'luks-ssm.target') };
}

export const DEFAULT_ENABLE_PATHS: EnablePaths = enablePathsIn(VENDOR_UNIT_DIRS[0]);

/**
 * The paths for the vendor dir that really holds the installed template, so offline links point where the package put
 * it. `root` is for tests. None holds it: the first, whose "not installed" error then names it.
 */
export async function findEnablePaths(root = '/'): Promise<EnablePaths> {
  const unitDir = join(root, 'etc/systemd/system');
  for (const dir of VENDOR_UNIT_DIRS) {
    const paths = enablePathsIn(join(root, dir), unitDir);
    if (await entryAt(paths.templatePath) !== undefined) return paths;
  }
  return enablePathsIn(join(root, VENDOR_UNIT_DIRS[0]), unitDir);
}

export interface UnitVerbResult {
  /** What was done and what is left to do, one line each, for stdout. */
  messages: string[];
  /** False when systemd was not reachable and the change takes effect at the next boot or daemon-reload. */
  applied: boolean;
}

const NO_BUS = 'systemd is not reachable over D-Bus (a chroot, or before boot finished?)';

/**
 * Makes the volume start at boot (luks-ssm.target wants it; multi-user.target wants luks-ssm.target) and
 * reloads systemd so the generator writes its mount unit and REQUIRED_BY drop-ins now. Does not start it.
 */
export async function enableVolume(config: VolumeConfig, bus: SystemdBus | undefined, given?: EnablePaths): Promise<UnitVerbResult> {
  const service = unitOf(config.volume);
  if (bus) {
    const result = await bus.enableUnitFiles([service, TARGET_NAME]);
    await bus.reload();
    const messages = result.changed.map(describeChange);
    if (!result.carriesInstallInfo) messages.push(`${service} has no [Install] section: nothing to enable, is the package installed correctly?`);
    messages.push(`Enabled ${service} at boot; start it now with: systemctl start ${service}`);
    return { messages, applied: true };
  }
  const paths = given ?? await findEnablePaths();
  const messages: string[] = [];
  for (const [wants, name, target] of [[`${TARGET_NAME}.wants`, service, paths.templatePath], ['multi-user.target.wants', TARGET_NAME, paths.targetPath]] as const) {
    await requireInstalled(target);
    const link = join(paths.unitDir, wants, name);
    if (await entryAt(link) !== undefined) continue;
    await mkdir(join(paths.unitDir, wants), { recursive: true, mode: 0o755 });
    await symlink(target, link);
    messages.push(`Created symlink ${link} → ${target}.`);
  }
  messages.push(`${NO_BUS}: ${service} is enabled for the next boot; to apply it now run: systemctl daemon-reload`);
  return { messages, applied: false };
}

/**
 * Undoes enable: the volume no longer starts at boot by itself. Closes nothing. luks-ssm.target stays
 * enabled (other volumes use it); units in REQUIRED_BY still pull the volume in while its config exists.
 */
export async function disableVolume(volume: string, bus: SystemdBus | undefined, paths: EnablePaths = DEFAULT_ENABLE_PATHS): Promise<UnitVerbResult> {
  const service = unitOf(volume);
  const note = 'units that require it (REQUIRED_BY in its config, RequiresMountsFor=) still start it while its config file exists';
  if (bus) {
    const result = await bus.disableUnitFiles([service]);
    await bus.reload();
    return { messages: [...result.changed.map(describeChange), `Disabled ${service} at boot; ${note}.`], applied: true };
  }
  const link = join(paths.unitDir, `${TARGET_NAME}.wants`, service);
  const messages: string[] = [];
  if (await entryAt(link) === 'symlink') {
    await unlink(link);
    messages.push(`Removed ${link}.`);
  }
  messages.push(`${NO_BUS}: ${service} is disabled for the next boot (${note}); to apply it now run: systemctl daemon-reload`);
  return { messages, applied: false };
}

function unitOf(volume: string): string {
  if (!isValidInstance(volume)) throw new UnlockError('USAGE', `luks-ssm@${volume}.service is not a valid unit name`);
  return serviceNameOf(volume);
}

/** systemctl's wording for the changes EnableUnitFiles/DisableUnitFiles report. */
function describeChange([type, file, destination]: [string, string, string]): string {
  if (type === 'symlink') return `Created symlink ${file} → ${destination}.`;
  if (type === 'unlink') return `Removed ${file}.`;
  return `${type} ${file}${destination ? ` → ${destination}` : ''}.`;
}

async function requireInstalled(path: string): Promise<void> {
  try {
    await stat(path);
  } catch (error) {
    throw new UnlockError('SYSTEM', `Failed to enable: ${path} is not installed (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, { cause: error });
  }
}

/** What is at `path` (not following symlinks): an admin's own file there is never replaced or removed. */
async function entryAt(path: string): Promise<'symlink' | 'other' | undefined> {
  try {
    return (await lstat(path)).isSymbolicLink() ? 'symlink' : 'other';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
