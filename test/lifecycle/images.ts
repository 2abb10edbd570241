// Test helper: sparse image files in a temp dir, LUKS2-formatted with a fast pbkdf2 so each format takes milliseconds.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRunner, DEFAULT_EXEC_PATH } from '../../src/exec/run.ts';
import { formatLuks2 } from '../../src/luks/format.ts';
import { Secret } from '../../src/secret/secret.ts';
import type { PbkdfSettings } from '../../src/types.ts';

/** A fixed iteration count skips cryptsetup's PBKDF benchmark (seconds per key slot otherwise). */
export const FAST_PBKDF: PbkdfSettings = { type: 'pbkdf2', forceIterations: 1000 };

const haveCryptsetup = DEFAULT_EXEC_PATH.split(':').some((dir) => existsSync(join(dir, 'cryptsetup')));
/** Real cryptsetup on image files needs root (it locks /run/cryptsetup) and the binary. */
export const canRunCryptsetup = process.getuid?.() === 0 && haveCryptsetup;

export const run = createRunner();

export interface ImageDir {
  dir: string;
  /** A 32 MiB sparse zero-filled file (the LUKS2 header alone takes 16 MiB). */
  blank(name: string): Promise<string>;
  /** A blank image formatted as LUKS2 with `key` (bytes or text). */
  luks(name: string, key: string | Buffer, uuid?: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function createImageDir(): Promise<ImageDir> {
  const dir = await mkdtemp(join(tmpdir(), 'luks-ssm-lifecycle-'));
  const blank = async (name: string): Promise<string> => {
    const image = join(dir, `${name}.img`);
    await writeFile(image, '');
    await truncate(image, 32 * 1024 * 1024);
    return image;
  };
  return {
    dir,
    blank,
    async luks(name, key, uuid) {
      const image = await blank(name);
      await formatLuks2(run, image, Secret.copyOf(Buffer.from(key)), { pbkdf: FAST_PBKDF, ...(uuid ? { uuid } : {}) });
      return image;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export const key = (text: string): Secret => Secret.copyOf(Buffer.from(text));
