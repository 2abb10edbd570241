// Shapes shared across modules: the parsed config and the injected boundaries (runner, clock, logger).

/** One volume's config after parsing and validation. Keys in comments are the config-file names. */
export interface VolumeConfig {
  /** The instance name: `luks-ssm@<volume>.service`, `/etc/luks-ssm/<volume>.conf`. */
  volume: string;
  /** Files the values came from, most general first (for messages). */
  sources: string[];
  /** LUKS_DEVICE: a path, UUID=…, PARTUUID=…, or an EBS volume id vol-…. */
  device: string;
  /** LUKS_DEVICE_MAP: the /dev/mapper name. */
  mapName: string;
  /** LUKS_DEVICE_FS: filesystem type passed to mount -t. */
  fsType: string;
  /** LUKS_DEVICE_MOUNT_OPT: mount -o options ('defaults' when unset). */
  mountOptions: string;
  /** LUKS_DEVICE_MOUNT_POINT: absolute path. */
  mountPoint: string;
  /** MOUNT_POINT_MODE: octal mode for a mount point luks-ssm creates (default 0700). */
  mountPointMode: number;
  /** MOUNT_OVER_NONEMPTY: allow mounting over a directory that has entries (default no). */
  mountOverNonEmpty: boolean;
  /** SSM_PATH: parameter name (/a/b or a plain name) or ARN; unset only with KEY_SOURCE=kms. */
  ssmPath: string | undefined;
  /** SSM_PARAMETER_VERSION or SSM_PARAMETER_LABEL: which version to read; latest when neither is set. */
  ssmSelector: { version: number } | { label: string } | undefined;
  /** SSM_VALUE_ENCODING: 'text' (the value's exact UTF-8 bytes) or 'base64' (decoded: binary keys). */
  ssmValueEncoding: 'text' | 'base64';
  /** SSM_REGION (else AWS_REGION from the environment, else instance metadata). */
  region: string | undefined;
  /** SSM_ENDPOINT, KMS_ENDPOINT, IMDS_ENDPOINT: overrides (VPC endpoints, tests). */
  endpoints: { ssm?: string; kms?: string; imds?: string };
  /** TIMEOUT_SEC: overall deadline for start, including AWS retries and device wait. */
  timeoutSec: number;
  /** DEVICE_TIMEOUT_SEC: how long to wait for the device node to appear. */
  deviceTimeoutSec: number;
  /** REQUIRED_BY: units ordered after (and requiring) this volume. */
  requiredBy: string[];
  /** KEY_SOURCE: where the passphrase lives (default ssm). Optional fields below are filled by the loader. */
  keySource?: 'ssm' | 'kms';
  /** KMS_KEY_ID: key id, key ARN, alias/NAME or alias ARN that enroll/rotate encrypt new keys under. */
  kmsKeyId?: string;
  /** KMS_CONTEXT_INSTANCE_ID: bind KMS ciphertext to this instance id as well as to the LUKS UUID. */
  kmsContextInstanceId?: boolean;
  /** SSM_HISTORY_FALLBACK: how many earlier parameter versions start may try (default 3, 0 = none). */
  ssmHistoryFallback?: number;
  /** SSM_FALLBACK_REGIONS: regions holding a replica of the parameter, tried in order when SSM_REGION is unavailable. */
  fallbackRegions?: string[];
  /** ASK_PASSWORD: start asks a person (systemd's password agents) when AWS gives no key that opens (default yes). */
  askPassword?: boolean;
  /** LUKS_PBKDF, LUKS_PBKDF_FORCE_ITERATIONS, LUKS_PBKDF_MEMORY_KIB: key slot settings for enroll and rotate. */
  pbkdf?: PbkdfSettings;
}

export interface PbkdfSettings {
  type: 'argon2id' | 'argon2i' | 'pbkdf2';
  /** PBKDF2's hash (--hash); cryptsetup's default (sha256) when unset. */
  hash?: string;
  /** Skips cryptsetup's benchmark (tests; small machines). */
  forceIterations?: number;
  memoryKib?: number;
}

export interface RunOptions {
  /** Bytes written to the child's stdin (the only way a secret may reach a child). */
  input?: Uint8Array;
  /** Kill the child after this long; the result then has timedOut=true. */
  timeoutMs?: number;
  /** An open file descriptor the child receives as its fd 3 (the run lock hands it to flock(1)). */
  fd3?: number;
  /** More open file descriptors, the child's fds 4, 5, … in order (needs fd3). */
  moreFds?: readonly number[];
  /** Added to the child's minimal environment (NOTIFY_SOCKET for systemd-notify); never a secret. */
  env?: Record<string, string>;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs a program without a shell and never throws for a non-zero exit: callers decide what an exit
 * code means. Throws only when the program cannot be started at all (ENOENT…).
 */
export type Runner = (file: string, args: readonly string[], options?: RunOptions) => Promise<RunResult>;

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** A number in [0, 1) for retry jitter; injected so retries are tested without randomness. */
  random(): number;
}

/** The subset of pino's logger the code uses, so tests can pass a recording fake. */
export interface Logger {
  info(obj: object, msg?: string): void;
  info(msg: string): void;
  warn(obj: object, msg?: string): void;
  warn(msg: string): void;
  error(obj: object, msg?: string): void;
  error(msg: string): void;
  debug(obj: object, msg?: string): void;
  debug(msg: string): void;
}
