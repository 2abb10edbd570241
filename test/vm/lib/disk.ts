// Disk files for a run: the qcow2 overlay on the cached base, LUKS data disks formatted on the host, byte scans.
import { closeSync, openSync, readSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { mustRun } from './proc.ts';

const STEP_TIMEOUT_MS = 120_000;
/** LUKS2 offline encryption moves the filesystem up by this much to make room for the header. */
const LUKS_HEADER_MB = 16;

/** A qcow2 overlay backed by the read-only base image: the run writes only here, the cache is never modified. */
export async function createOverlay(base: string, overlay: string): Promise<void> {
  await mustRun('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'raw', overlay], { timeoutMs: STEP_TIMEOUT_MS });
}

export function createBlankDisk(path: string, sizeMb: number): void {
  writeFileSync(path, '');
  truncateSync(path, sizeMb * 1024 * 1024);
}

/** pbkdf2 with a 100 ms iteration time keeps unlocking fast under TCG. */
const FAST_PBKDF = ['--pbkdf', 'pbkdf2', '--iter-time', '100'];

/**
 * A LUKS2 volume holding an ext4 filesystem, made entirely on the host (no device-mapper needed): mkfs on the
 * file, then cryptsetup's offline encryption. The passphrase goes to cryptsetup on stdin only. `pbkdf`: the key
 * slot's cryptsetup options (default FAST_PBKDF).
 */
export async function createLuksExt4Disk(path: string, sizeMb: number, passphrase: Buffer, label: string, pbkdf: readonly string[] = FAST_PBKDF): Promise<void> {
  createBlankDisk(path, sizeMb);
  const fsMb = sizeMb - LUKS_HEADER_MB;
  await mustRun('mkfs.ext4', ['-q', '-F', '-L', label, path, `${fsMb}M`], { timeoutMs: STEP_TIMEOUT_MS });
  await mustRun(
    'cryptsetup',
    ['reencrypt', '--encrypt', '--type', 'luks2', '--reduce-device-size', `${LUKS_HEADER_MB}M`, ...pbkdf,
      '--key-file=-', '--batch-mode', path],
    { timeoutMs: STEP_TIMEOUT_MS, input: passphrase },
  );
}

/**
 * A second key slot for the boot figures' bare `cryptsetup open` (02-enable-at-boot): `key`, which is not a secret,
 * with exactly slot 0's PBKDF (same hash and iteration count, no benchmark), so opening it with --key-slot 1 costs
 * what the unit's open of slot 0 costs. Authorised by the passphrase on stdin.
 */
export async function addBenchKeySlot(path: string, passphrase: Buffer, key: string, keyFile: string): Promise<void> {
  const dump = await mustRun('cryptsetup', ['luksDump', path], { timeoutMs: STEP_TIMEOUT_MS });
  const slot0 = dump.slice(dump.indexOf('Keyslots:'));
  const hash = /\tHash:\s+(\S+)/.exec(slot0)?.[1];
  const iterations = /\tIterations:\s+(\d+)/.exec(slot0)?.[1];
  if (hash === undefined || iterations === undefined) throw new Error(`${path}: key slot 0 is not pbkdf2 (luksDump shows no Hash/Iterations)`);
  writeFileSync(keyFile, key);
  await mustRun(
    'cryptsetup',
    ['luksAddKey', '--batch-mode', '--pbkdf', 'pbkdf2', '--hash', hash, '--pbkdf-force-iterations', iterations, '--key-slot', '1', '--key-file=-', path, keyFile],
    { timeoutMs: STEP_TIMEOUT_MS, input: passphrase },
  );
}

/** Flattens an overlay and its backing chain into one raw file, for scanning what the guest wrote. */
export async function flattenImage(image: string, raw: string): Promise<void> {
  await mustRun('qemu-img', ['convert', '-O', 'raw', image, raw], { timeoutMs: 10 * 60_000 });
}

/** Counts occurrences of `needle` in a file, reading in chunks that overlap so no match is split. */
export function countOccurrences(path: string, needle: Buffer): number {
  const chunk = Buffer.alloc(16 * 1024 * 1024);
  const overlap = needle.length - 1;
  const fd = openSync(path, 'r');
  let count = 0;
  let position = 0;
  let carried = 0;
  try {
    for (;;) {
      const read = readSync(fd, chunk, carried, chunk.length - carried, position);
      if (read === 0) break;
      position += read;
      const filled = carried + read;
      const view = chunk.subarray(0, filled);
      for (let at = view.indexOf(needle); at !== -1; at = view.indexOf(needle, at + 1)) count += 1;
      carried = Math.min(overlap, filled);
      chunk.copy(chunk, 0, filled - carried, filled);
    }
  } finally {
    closeSync(fd);
  }
  return count;
}

export function removeFile(path: string): void {
  rmSync(path, { force: true });
}
