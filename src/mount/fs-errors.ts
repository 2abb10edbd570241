// Whether an ext2/3/4 filesystem has errors recorded in its superblock: the kernel mounts it anyway (it only
// says so in its own log), so start reads the mark to say "run fsck" where the user looks.
import { readBytesAt, TIMED_OUT } from '../device/read-bytes.ts';
import type { Runner } from '../types.ts';

/** The filesystems dumpe2fs(8) reads. */
const EXT = new Set(['ext2', 'ext3', 'ext4']);
/** dumpe2fs -h reads one superblock: anything slower is a sick disk, and this check must not hold up start. */
const DUMPE2FS_TIMEOUT_MS = 5_000;

/** The primary superblock's place and the fields read (e2fsprogs lib/ext2fs/ext2_fs.h), little-endian. */
const SUPERBLOCK_OFFSET = 1024;
const S_MAGIC = 0x38;
const S_STATE = 0x3a;
const EXT2_SUPER_MAGIC = 0xef53;
const EXT2_VALID_FS = 0x1;
const EXT2_ERROR_FS = 0x2;

/**
 * The superblock's state ("clean with errors", "not clean with errors") when the kernel or a past fsck marked
 * errors in it; undefined when it has none, or when this is not ext2/3/4 or cannot be read: a check that only
 * adds a warning never fails a start. `maxMs`: what is left of the caller's deadline, if less.
 *
 * The superblock is read directly (the bytes dumpe2fs -h reads, through the same page cache): a dumpe2fs process
 * cost 0.3 s of the boot unlock under TCG. dumpe2fs is asked only when the device cannot be opened or read here, not
 * when it did not answer in time.
 */
export async function recordedErrors(run: Runner, device: string, fsType: string, maxMs = DUMPE2FS_TIMEOUT_MS): Promise<string | undefined> {
  // With start's deadline already past, the hint is not worth a wait of any length.
  if (!EXT.has(fsType) || maxMs <= 0) return undefined;
  const timeoutMs = Math.min(DUMPE2FS_TIMEOUT_MS, maxMs);
  const superblock = await readBytesAt(device, SUPERBLOCK_OFFSET + S_MAGIC, S_STATE + 2 - S_MAGIC, timeoutMs);
  // A device that did not answer here would hang dumpe2fs too: no second wait.
  if (superblock === TIMED_OUT) return undefined;
  if (superblock !== undefined) {
    if (superblock.readUInt16LE(0) !== EXT2_SUPER_MAGIC) return undefined;
    const state = superblock.readUInt16LE(S_STATE - S_MAGIC);
    return state & EXT2_ERROR_FS ? stateText(state) : undefined;
  }
  return recordedErrorsByDumpe2fs(run, device, timeoutMs);
}

/** As e2fsprogs' print_fs_state writes it (lib/e2p/ls.c), which is what dumpe2fs -h shows. */
function stateText(state: number): string {
  return `${state & EXT2_VALID_FS ? 'clean' : 'not clean'}${state & EXT2_ERROR_FS ? ' with errors' : ''}`;
}

async function recordedErrorsByDumpe2fs(run: Runner, device: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const result = await run('dumpe2fs', ['-h', '--', device], { timeoutMs });
    if (result.exitCode !== 0 || result.timedOut) return undefined;
    const state = /^Filesystem state:\s*(.+?)\s*$/m.exec(result.stdout)?.[1];
    return state !== undefined && /\berrors?\b/.test(state) ? state : undefined;
  } catch {
    return undefined;
  }
}
