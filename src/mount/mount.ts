// Mounting and unmounting the opened volume with mount(8)/umount(8); never a lazy or forced unmount.
import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import { UnlockError } from '../errors.ts';
import type { Logger, Runner } from '../types.ts';

export const DEFAULT_MOUNT_TIMEOUT_MS = 60_000;

/** Creates a missing mount point with `mode`; refuses a non-directory, or one whose entries the mount would hide. */
export async function prepareMountPoint(
  target: string,
  opts: { mode: number; allowNonEmpty: boolean; log?: Logger },
): Promise<void> {
  const info = await stat(target).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new UnlockError('PERMISSION', `Failed to inspect mount point ${target}: ${error.code ?? 'error'}`, {
      cause: error,
    });
  });
  if (info === undefined) {
    await mkdir(target, { recursive: true, mode: opts.mode });
    await chmod(target, opts.mode); // mkdir's mode is filtered by the umask
    opts.log?.info({ mountPoint: target, mode: opts.mode.toString(8) }, `Created mount point ${target}`);
    return;
  }
  if (!info.isDirectory()) {
    throw new UnlockError('MOUNT_REFUSED', `${target} is not a directory, refusing to mount on it.`);
  }
  const entries = await readdir(target);
  if (entries.length === 0) return;
  if (opts.allowNonEmpty) {
    opts.log?.warn({ mountPoint: target, entries: entries.length }, `${target} is not empty, mounting over it anyway`);
    return;
  }
  const count = `${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}`;
  throw new UnlockError(
    'MOUNT_REFUSED',
    `${target} is not empty (${count}): mounting would hide them; empty it or set MOUNT_OVER_NONEMPTY=yes`,
  );
}

export async function mountFilesystem(
  run: Runner,
  opts: { source: string; target: string; fsType: string; options: string; timeoutMs?: number },
): Promise<void> {
  const options = opts.options === '' ? 'defaults' : opts.options;
  const result = await run('mount', ['-t', opts.fsType, '-o', options, opts.source, opts.target], {
    timeoutMs: opts.timeoutMs ?? DEFAULT_MOUNT_TIMEOUT_MS,
  });
  if (result.exitCode === 0 && !result.timedOut) return;
  const what = `Failed to mount ${opts.source} on ${opts.target}`;
  if (result.timedOut) throw new UnlockError('TIMEOUT', `${what}: mount did not finish in time`, { retryable: true });
  const detail = firstLine(result.stderr) ?? `mount exited with status ${result.exitCode}`;
  throw new UnlockError('SYSTEM', `${what}: ${detail}`, {
    hint: `check LUKS_DEVICE_FS=${opts.fsType} and the kernel log (journalctl -k)`,
  });
}

/**
 * A plain `umount <target>`: a busy mount stays mounted and is reported, never detached lazily (-l) or
 * forced (-f), so no process loses its files underneath it. Not mounted counts as unmounted.
 */
export async function unmountFilesystem(
  run: Runner,
  target: string,
  opts: { timeoutMs?: number } = {},
): Promise<'unmounted' | 'busy'> {
  const result = await run('umount', [target], { timeoutMs: opts.timeoutMs ?? DEFAULT_MOUNT_TIMEOUT_MS });
  if (result.timedOut) {
    throw new UnlockError('TIMEOUT', `Failed to unmount ${target}: umount did not finish in time`, { retryable: true });
  }
  if (result.exitCode === 0) return 'unmounted';
  if (/target is busy|device is busy/i.test(result.stderr)) return 'busy';
  if (/not mounted|no mount point specified/i.test(result.stderr)) return 'unmounted';
  throw new UnlockError(
    'SYSTEM',
    `Failed to unmount ${target}: ${firstLine(result.stderr) ?? `umount exited with status ${result.exitCode}`}`,
  );
}

function firstLine(text: string): string | undefined {
  return text
    .split('\n')
    .find((line) => line.trim() !== '')
    ?.trim();
}
