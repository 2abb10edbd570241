// A growable byte buffer for bytes that may hold the passphrase (an AWS response): every copy it drops is zeroed.
// Buffer.concat would leave each superseded piece to the garbage collector, readable in memory until reused.

export interface ByteStore {
  readonly length: number;
  /** Copies `bytes` in; the caller may reuse or zero its own buffer straight after. */
  append(bytes: Uint8Array): void;
  /** A view (no copy) of the bytes held, valid until the next append or wipe. */
  view(start?: number, end?: number): Buffer;
  /** Zeroes everything held; the store is empty afterwards. */
  wipe(): void;
}

/**
 * Zero-filled memory that is this buffer's alone and never moves. Not Buffer.alloc/allocUnsafeSlow: for up to 64
 * bytes V8 keeps a typed array's bytes inside the JS heap, and the first native use (a write to a pipe, a
 * subarray) moves them out, leaving the old bytes behind where no fill(0) reaches (measured: one passphrase copy).
 * Not the pool either: a pool slice shares its memory with unrelated buffers.
 */
export function allocWipeable(size: number): Buffer {
  return Buffer.from(new ArrayBuffer(size));
}

export function createByteStore(initialCapacity = 4096): ByteStore {
  let buffer = allocWipeable(Math.max(1, initialCapacity));
  let length = 0;
  return {
    get length() {
      return length;
    },
    append(bytes) {
      if (length + bytes.length > buffer.length) {
        let capacity = buffer.length * 2;
        while (capacity < length + bytes.length) capacity *= 2;
        const grown = allocWipeable(capacity);
        buffer.copy(grown, 0, 0, length);
        buffer.fill(0);
        buffer = grown;
      }
      buffer.set(bytes, length);
      length += bytes.length;
    },
    view(start = 0, end = length) {
      return buffer.subarray(start, Math.min(end, length));
    },
    wipe() {
      buffer.fill(0);
      length = 0;
    },
  };
}
