// Small LUKS2 image files formatted by the real cryptsetup, the key fed on stdin (never a file or argv).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { truncate, writeFile } from 'node:fs/promises';

/** The real cryptsetup, wherever this distribution keeps it. */
export const REAL_CRYPTSETUP = ['/usr/sbin/cryptsetup', '/sbin/cryptsetup', '/usr/bin/cryptsetup'].find((file) => existsSync(file));

/** Real cryptsetup needs root (it locks /run/cryptsetup); elsewhere these tests are skipped, not failed. */
export const canRunCryptsetup = process.getuid?.() === 0 && REAL_CRYPTSETUP !== undefined;

/** The LUKS2 header alone takes 16 MiB. */
const IMAGE_BYTES = 32 * 1024 * 1024;

/**
 * Formats the file `image` with `key` as its only passphrase. A fixed pbkdf2 iteration count skips
 * cryptsetup's PBKDF benchmark (seconds per format); `--key-file=-` reads the exact bytes of stdin.
 */
export async function formatLuksImage(image: string, key: Buffer): Promise<string> {
  await writeFile(image, '');
  await truncate(image, IMAGE_BYTES);
  const args = ['luksFormat', '-q', '--type', 'luks2', '--pbkdf', 'pbkdf2', '--pbkdf-force-iterations', '1000', '--key-file=-', image];
  execFileSync(REAL_CRYPTSETUP!, args, { input: key, stdio: ['pipe', 'ignore', 'pipe'], timeout: 30_000 });
  return image;
}

/** A zero-filled file: present, readable, and not LUKS. */
export async function zeroImage(image: string): Promise<string> {
  await writeFile(image, Buffer.alloc(4 * 1024 * 1024));
  return image;
}
