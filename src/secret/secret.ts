// The passphrase as a Buffer that refuses to print itself and can be wiped: never a string.
import { inspect } from 'node:util';
import { allocWipeable } from '../aws/byte-store.ts';

const REDACTED = '[redacted]';

/** Empty keys and keys over 16 MiB are refused, as systemd-cryptsetup does. */
export const SECRET_MAX_BYTES = 16 * 1024 * 1024;

export class Secret {
  #bytes: Buffer;
  #wiped = false;

  private constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  /** Takes ownership of `bytes` (no copy): the caller must not keep using the buffer. */
  static adopt(bytes: Buffer): Secret {
    return new Secret(bytes);
  }

  /** Copies `bytes` into a Buffer the Secret owns; the caller wipes its own copy. */
  static copyOf(bytes: Uint8Array): Secret {
    const own = allocWipeable(bytes.length);
    own.set(bytes);
    return new Secret(own);
  }

  get length(): number {
    return this.#bytes.length;
  }

  get wiped(): boolean {
    return this.#wiped;
  }

  /** The exact bytes, for piping to cryptsetup's stdin. Throws once wiped, so a use-after-wipe is loud. */
  bytes(): Buffer {
    if (this.#wiped) throw new Error('Secret used after wipe()');
    return this.#bytes;
  }

  wipe(): void {
    this.#bytes.fill(0);
    this.#wiped = true;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/**
 * Whether the key ends in a line break: the bytes are used exactly, but a shell script's `$(aws ssm get-parameter …)`
 * dropped it, so a volume keyed through one opens with the value minus it (review 8). Reads one byte; says nothing
 * else about the key.
 */
export function endsWithNewline(secret: Secret): boolean {
  const bytes = secret.bytes();
  return bytes.length > 0 && bytes[bytes.length - 1] === 0x0a;
}

/** The hint for a key that opens nothing and ends in a line break. */
export const TRAILING_NEWLINE_HINT =
  "the value ends with a line break, which luks-ssm keeps (a shell script's $(aws ssm get-parameter …) dropped it): " +
  'if the volume was keyed without it, store the value again without the trailing line break';

/** Runs `use` with the secret and wipes it afterwards, whatever happens. */
export async function withSecret<T>(secret: Secret, use: (secret: Secret) => Promise<T>): Promise<T> {
  try {
    return await use(secret);
  } finally {
    secret.wipe();
  }
}
