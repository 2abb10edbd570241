// A few bytes at an offset of a device (a header, a superblock), bounded in time: a read that hangs on a sick disk
// leaves one thread-pool thread behind, never the caller.
import { open } from 'node:fs/promises';
import { TIMED_OUT, within } from '../time-bound.ts';

/** What readBytesAt returns when the device did not answer in time (a caller must not ask it again, e.g. with a tool). */
export { TIMED_OUT };

/**
 * `length` bytes of `path` from `position`; undefined when it cannot be opened or read or is shorter; TIMED_OUT when
 * it does not answer within `timeoutMs`.
 */
export function readBytesAt(path: string, position: number, length: number, timeoutMs: number): Promise<Buffer | typeof TIMED_OUT | undefined> {
  return within(timeoutMs, read(path, position, length));
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
