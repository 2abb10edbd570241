// Whether an ext2/3/4 filesystem has errors recorded in its superblock: the kernel mounts it anyway (it only
// says so in its own log), so start reads the mark to say "run fsck" where the user looks.
import type { Runner } from '../types.ts';

/** The filesystems dumpe2fs(8) reads. */
const EXT = new Set(['ext2', 'ext3', 'ext4']);
/** dumpe2fs -h reads one superblock: anything slower is a sick disk, and this check must not hold up start. */
const DUMPE2FS_TIMEOUT_MS = 5_000;

/**
 * The superblock's state ("clean with errors", "not clean with errors") when the kernel or a past fsck marked
 * errors in it; undefined when it has none, or when this is not ext2/3/4 or cannot be read (no e2fsprogs): a
 * check that only adds a warning never fails a start. `maxMs`: what is left of the caller's deadline, if less.
 */
export async function recordedErrors(run: Runner, device: string, fsType: string, maxMs = DUMPE2FS_TIMEOUT_MS): Promise<string | undefined> {
  if (!EXT.has(fsType)) return undefined;
  try {
    const result = await run('dumpe2fs', ['-h', '--', device], { timeoutMs: Math.max(1, Math.min(DUMPE2FS_TIMEOUT_MS, maxMs)) });
    if (result.exitCode !== 0 || result.timedOut) return undefined;
    const state = /^Filesystem state:\s*(.+?)\s*$/m.exec(result.stdout)?.[1];
    return state !== undefined && /\berrors?\b/.test(state) ? state : undefined;
  } catch {
    return undefined;
  }
}
