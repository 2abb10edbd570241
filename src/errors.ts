// The one error class and the one exit-code table: every failure a user can see maps to a row here.

/**
 * Exit codes. Where sysexits(3) or systemd.exec(5) already give a number a meaning we use it.
 * `permanent`: no retry can fix it, so `start` gives up at once instead of retrying until TIMEOUT_SEC.
 * In code order: --help, the man page and the README list them as written here.
 */
export const EXIT_CODES = {
  OK: { code: 0, permanent: false, meaning: 'success (also: already in the requested state)' },
  INTERNAL: { code: 1, permanent: false, meaning: 'unexpected internal error (a bug: please report it)' },
  USAGE: { code: 2, permanent: true, meaning: 'bad command line' },
  NOT_ACTIVE: { code: 3, permanent: false, meaning: 'status: volume is not open and mounted' },
  PERMISSION: { code: 4, permanent: true, meaning: 'not root, or a file luks-ssm needs is not accessible' },
  NOT_CONFIGURED: { code: 6, permanent: true, meaning: 'no config file for this volume' },
  NOT_LUKS: { code: 65, permanent: true, meaning: 'device is not a LUKS volume (refusing to touch it)' },
  DEVICE_MISSING: { code: 66, permanent: false, meaning: 'device did not appear within DEVICE_TIMEOUT_SEC' },
  AWS_NOT_FOUND: { code: 67, permanent: true, meaning: 'SSM parameter (or version/label) not found' },
  KMS_KEY_UNUSABLE: { code: 68, permanent: true, meaning: 'KMS key disabled, pending deletion, not found or without key material' },
  AWS_UNAVAILABLE: { code: 69, permanent: false, meaning: 'AWS unreachable, no credentials or region, or throttled past the deadline' },
  TIMEOUT: { code: 75, permanent: false, meaning: 'overall deadline (TIMEOUT_SEC) passed' },
  AWS_DENIED: { code: 77, permanent: true, meaning: 'AWS denied access (IAM policy, or KMS key policy)' },
  CONFIG: { code: 78, permanent: true, meaning: 'config file invalid (unknown key, bad value, unsafe permissions)' },
  WRONG_PASSPHRASE: { code: 80, permanent: true, meaning: 'passphrase from SSM opens no keyslot of the device' },
  BUSY: { code: 81, permanent: false, meaning: 'mount point busy: stop refused, nothing changed' },
  MOUNT_REFUSED: { code: 82, permanent: true, meaning: 'refusing to mount: mount point not empty, a symlink on its path, replaced meanwhile, or a dependent already running' },
  SYSTEM: { code: 83, permanent: false, meaning: 'cryptsetup, mount or the service manager failed' },
  LOCKED: { code: 84, permanent: false, meaning: 'another luks-ssm run held the lock past the deadline' },
  UNSUPPORTED: { code: 85, permanent: true, meaning: 'this system\'s cryptsetup is too old for this feature (the message names the version needed)' },
  SLOT_TOO_COSTLY: { code: 86, permanent: true, meaning: 'the keyslot needs more memory than this instance has: run luks-ssm rotate' },
  NEEDS_FSCK: { code: 87, permanent: true, meaning: 'the kernel refused the opened volume\'s filesystem as damaged: run fsck on /dev/mapper/NAME (left open for it); never repaired by luks-ssm' },
  DEVICE_IN_USE: { code: 88, permanent: true, meaning: 'the device is already open under another name (another config, a crypttab line, LVM or md): refusing to touch it' },
  DEVICE_AMBIGUOUS: { code: 89, permanent: true, meaning: 'LUKS_DEVICE (UUID= or PARTUUID=) names more than one disk, as a restored snapshot of the volume does: name the disk by its EBS volume id' },
} as const;

export type ExitCodeName = keyof typeof EXIT_CODES;

export function exitCodeOf(name: ExitCodeName): number {
  return EXIT_CODES[name].code;
}

export interface UnlockErrorOptions {
  cause?: unknown;
  /** True when trying again later may succeed (network, throttling, a device still appearing). */
  retryable?: boolean;
  /** What the user should do about it, printed after the message. */
  hint?: string;
}

/**
 * The only error type that crosses module boundaries. Adapters wrap ExecaError, AWS ServiceException
 * and DBusError into it. Messages must never contain key bytes: build them from names, not values.
 */
export class UnlockError extends Error {
  readonly kind: ExitCodeName;
  readonly retryable: boolean;
  readonly hint: string | undefined;

  constructor(kind: ExitCodeName, message: string, options: UnlockErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UnlockError';
    this.kind = kind;
    this.retryable = options.retryable ?? false;
    this.hint = options.hint;
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind].code;
  }
}

export function isUnlockError(value: unknown): value is UnlockError {
  return value instanceof UnlockError;
}

/** The table as text, for --help, the man page and the README (one source for all three). */
export function formatExitCodeTable(): string {
  return Object.entries(EXIT_CODES)
    .map(([name, row]) => `  ${String(row.code).padStart(3)}  ${name.padEnd(17)} ${row.meaning}`)
    .join('\n');
}

/**
 * Text of external origin (an AWS message, a process's command line) made safe for one log or error line:
 * control characters (C0, DEL, C1, U+2028/9) are shown escaped (\xNN, \uNNNN), so a newline or an escape
 * sequence cannot forge a journal record or rewrite the terminal.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escapeChar);
}

/** C0, DEL, C1 and the two Unicode line breaks: a lone CR or U+2028 must not reach the journal raw (#14's fuzzer). */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

function escapeChar(char: string): string {
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
}

/**
 * Any thrown value as the error to report. A foreign error's message is shown (made printable) except a
 * parser's: JSON.parse's SyntaxError quotes the text it was given, which may be a response or a secret.
 */
export function toUnlockError(error: unknown): UnlockError {
  if (isUnlockError(error)) return error;
  const name = error instanceof Error ? error.name : typeof error;
  const detail = error instanceof SyntaxError
    ? 'SyntaxError (its text is not shown: it can quote the input)'
    : printable(error instanceof Error ? error.message : String(error));
  return new UnlockError('INTERNAL', `unexpected error: ${detail}`, { cause: error instanceof SyntaxError ? new Error(name) : error });
}
