// The cryptsetup verbs luks-ssm uses; the key goes to cryptsetup on stdin only (--key-file=-), never argv.
// Every call ends its options with `--`: a name from config is never taken for an option (#10 item 11).
import { UnlockError } from '../errors.ts';
import type { Secret } from '../secret/secret.ts';
import type { Runner } from '../types.ts';
import { dmNamePresence } from './dm-names.ts';
import { CRYPTSETUP_EXIT, cryptsetupError } from './exit-status.ts';
import { hasLuksMagic, MAGIC_READ_TIMEOUT_MS } from './magic.ts';

/** Opening runs the key slot's PBKDF (argon2 can take seconds and GiBs); other verbs are quick. */
export const DEFAULT_OPEN_TIMEOUT_MS = 120_000;
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

export interface MappingStatus {
  active: boolean;
  device?: string;
  type?: string;
}

/**
 * A LUKS header's magic is enough for yes (no process started); only a no is asked of cryptsetup. So a device whose
 * magic is intact but whose header is damaged passes here and is refused by `cryptsetup open` (NOT_LUKS) once the
 * key is fetched: nothing is written either way, and enroll --format still refuses it (a yes).
 */
export async function isLuks(run: Runner, device: string, opts: { timeoutMs?: number } = {}): Promise<boolean> {
  // One bound for both steps: a device that hangs the magic read gets at most half of it, cryptsetup the rest.
  const within = Math.min(opts.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS, DEFAULT_QUERY_TIMEOUT_MS);
  const until = Date.now() + within;
  if (await hasLuksMagic(device, Math.max(1, Math.min(MAGIC_READ_TIMEOUT_MS, within / 2)))) return true;
  const result = await run('cryptsetup', ['isLuks', '--', device], { timeoutMs: Math.max(1, until - Date.now()) });
  if (result.exitCode === 0) return true;
  if (result.exitCode === CRYPTSETUP_EXIT.WRONG_PARAMETERS && !result.timedOut) return false;
  throw cryptsetupError(`check whether ${device} is LUKS`, device, result);
}

export async function luksUuid(run: Runner, device: string): Promise<string> {
  const result = await run('cryptsetup', ['luksUUID', '--', device], { timeoutMs: DEFAULT_QUERY_TIMEOUT_MS });
  if (result.exitCode === 0 && result.stdout.trim() !== '') return result.stdout.trim();
  if (result.exitCode === CRYPTSETUP_EXIT.WRONG_PARAMETERS && !result.timedOut) {
    throw new UnlockError('NOT_LUKS', `${device} is not a LUKS volume, refusing.`);
  }
  throw cryptsetupError(`read the LUKS UUID of ${device}`, device, result);
}

/**
 * `--key-file=-` makes cryptsetup read all of stdin as binary (no newline processing, see
 * cryptsetup(8) "NOTES ON PASSPHRASE PROCESSING"), so the secret's exact bytes are the key.
 */
export async function openLuks(
  run: Runner,
  device: string,
  mapName: string,
  secret: Secret,
  opts: { timeoutMs?: number } = {},
): Promise<void> {
  const result = await run('cryptsetup', ['open', '--type', 'luks', '--key-file=-', '--', device, mapName], {
    input: secret.bytes(),
    timeoutMs: opts.timeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS,
  });
  if (result.exitCode === 0 && !result.timedOut) return;
  throw cryptsetupError(`open ${device} as ${mapName}`, device, result, true);
}

/** True when some key slot opens with the secret; nothing is mapped. */
export async function testPassphrase(
  run: Runner,
  device: string,
  secret: Secret,
  opts: { timeoutMs?: number } = {},
): Promise<boolean> {
  const args = ['open', '--test-passphrase', '--type', 'luks', '--key-file=-', '--', device];
  const result = await run('cryptsetup', args, {
    input: secret.bytes(),
    timeoutMs: opts.timeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS,
  });
  if (!result.timedOut && result.exitCode === 0) return true;
  if (!result.timedOut && result.exitCode === CRYPTSETUP_EXIT.NO_PERMISSION) return false;
  throw cryptsetupError(`test the passphrase on ${device}`, device, result, true);
}

/** Idempotent: a mapping that is not active is already closed. */
export async function closeLuks(run: Runner, mapName: string): Promise<void> {
  const result = await run('cryptsetup', ['close', '--', mapName], { timeoutMs: DEFAULT_QUERY_TIMEOUT_MS });
  if (result.timedOut) throw cryptsetupError(`close ${mapName}`, mapName, result);
  if (result.exitCode === 0 || result.exitCode === CRYPTSETUP_EXIT.WRONG_DEVICE) return;
  if (result.exitCode === CRYPTSETUP_EXIT.BUSY) {
    throw new UnlockError('BUSY', `Failed to close ${mapName}: it is still in use`, {
      retryable: true,
      hint: `see lsblk /dev/mapper/${mapName} for what holds it`,
    });
  }
  throw cryptsetupError(`close ${mapName}`, mapName, result);
}

/**
 * When the kernel has no device-mapper device of that name (sysfs says so: every boot), it is not active and no
 * process is started. Otherwise `cryptsetup status` decides, as for any device-mapper device of the name (crypt or
 * not) and whenever sysfs can't tell; it exits 4 for a mapping that is not active. A mapping made right after
 * sysfs is read is missed just as one made right after `cryptsetup status` answered was.
 * `sysRoot` is for tests (LUKS_SSM_SYS_ROOT).
 */
export async function mappingStatus(run: Runner, mapName: string, opts: { sysRoot?: string | undefined } = {}): Promise<MappingStatus> {
  if ((await dmNamePresence(mapName, opts.sysRoot)) === 'absent') return { active: false };
  const result = await run('cryptsetup', ['status', '--', mapName], { timeoutMs: DEFAULT_QUERY_TIMEOUT_MS });
  if (result.exitCode === CRYPTSETUP_EXIT.WRONG_DEVICE && !result.timedOut) return { active: false };
  if (result.exitCode !== 0 || result.timedOut) throw cryptsetupError(`read the status of ${mapName}`, mapName, result);
  const status: MappingStatus = { active: true };
  const device = statusField(result.stdout, 'device');
  const type = statusField(result.stdout, 'type');
  // "(null)": the disk under the mapping is gone (detached, hot-removed); there is nothing to name (review 14).
  if (device !== undefined && device !== '(null)') status.device = device;
  if (type !== undefined) status.type = type;
  return status;
}

/** Lines look like "  device:  /dev/nvme1n1". */
function statusField(stdout: string, name: string): string | undefined {
  const match = new RegExp(`^\\s*${name}:\\s*(.+?)\\s*$`, 'm').exec(stdout);
  return match?.[1];
}
