// A few bytes at an offset of a device (a header, a superblock), bounded in time: a read that hangs on a sick disk
// leaves one thread-pool thread behind, never the caller.
import { open } from 'node:fs/promises';

/**
 * `length` bytes of `path` from `position`; undefined when it cannot be opened or read, is shorter, or does not
 * answer within `timeoutMs`.
 */
export async function readBytesAt(path: string, position: number, length: number, timeoutMs: number): Promise<Buffer | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs).unref();
  });
  try {
    return await Promise.race([read(path, position, length), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function read(path: string, position: number, length: number): Promise<Buffer | undefined> {
  let file;
  try {
    file = await open(path, 'r');
    const bytes = Buffer.alloc(length);
    const { bytesRead } = await file.read(bytes, 0, length, position);
    return bytesRead === length ? bytes : undefined;
  } catch {
    return undefined;
  } finally {
    await file?.close().catch(() => {});
  }
}
