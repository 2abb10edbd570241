// Opens the device with the first key that works: one from AWS (retried until the deadline) or one a person
// types at systemd's password prompt, which opens as soon as AWS fails once. Whichever opens first wins; the
// other is withdrawn (the AWS retries are aborted, the question's process is killed and its request removed).
import { isUnlockError, UnlockError } from '../errors.ts';
import { openLuks } from '../luks/cryptsetup.ts';
import { normalizeTypedKey } from '../secret/recovery-key.ts';
import { endsWithNewline, TRAILING_NEWLINE_HINT, type Secret } from '../secret/secret.ts';
import type { FetchedKey, KeySource } from '../secret/source.ts';
import type { VolumeConfig } from '../types.ts';
import type { VolumeDeps } from './deps.ts';
import { mapperPath } from './inspect.ts';
import { explainTooCostly } from './slot-cost.ts';
import { refuseIfInUse } from './start-refusals.ts';
import type { StartStatus } from './start-status.ts';

/** How many typed keys are tried before start fails with WRONG_PASSPHRASE. */
export const ASK_TRIES = 3;
/** The question is not opened with less than this left before the deadline: nobody could answer it. */
export const ASK_MIN_SEC = 5;
export const TYPED_KEY_SOURCE = 'typed key';

export type OpenedKey = Omit<FetchedKey, 'secret'>;
type Outcome = { opened: true } | { opened: false; error?: unknown };

export function askIdOf(volume: string): string {
  return `luks-ssm:${volume}`;
}

export async function openWithAwsOrTypedKey(deps: VolumeDeps, config: VolumeConfig, source: KeySource, device: string, deadline: number, status: StartStatus): Promise<OpenedKey> {
  const { log, clock } = deps;
  const stopAws = new AbortController();
  const stopAsking = new AbortController();
  let opened: OpenedKey | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  /** What failed in cryptsetup's open, not in the key source: a typed key would fail the same way, so nobody is asked. */
  const openFailures = new Set<unknown>();

  /** One cryptsetup open at a time; a key that arrives after the volume is open is only wiped. */
  const tryOpen = (secret: Secret, about: OpenedKey): Promise<'opened' | 'wrong' | 'late'> => {
    const attempt = queue.then(async () => {
      try {
        if (opened !== undefined) return 'late' as const;
        // The host lock only here: one key slot's argon2 at a time on the host, while other volumes' runs wait on AWS or ask.
        // Taken by the open's own spawn; the deadline bounds the wait and the open together.
        await openLuks(deps.runUnderHostLock(deadline), device, config.mapName, secret, { timeoutMs: Math.max(1, deadline - clock.now()) });
        opened = about;
        return 'opened' as const;
      } catch (error) {
        if (isUnlockError(error) && error.kind === 'WRONG_PASSPHRASE') return 'wrong' as const;
        const failure = await openFailure(deps, config, device, error);
        openFailures.add(failure);
        throw failure;
      } finally {
        secret.wipe();
      }
    });
    queue = attempt.catch(() => {});
    return attempt;
  };

  let asking: Promise<Outcome> | undefined;
  /** Whether a question is open, or startAsking would open one. */
  const askingOrCanAsk = () => asking !== undefined || (deps.askPassword !== undefined && config.askPassword !== false &&
    !stopAsking.signal.aborted && deadline - clock.now() >= ASK_MIN_SEC * 1000);
  const startAsking = () => {
    if (asking !== undefined || !askingOrCanAsk()) return;
    asking = askLoop().catch((error: unknown) => {
      stopAws.abort();
      return { opened: false, error } as Outcome;
    });
  };

  const askLoop = async (): Promise<Outcome> => {
    const id = askIdOf(config.volume);
    for (let attempt = 1; attempt <= ASK_TRIES; attempt += 1) {
      const leftSec = Math.floor((deadline - clock.now()) / 1000);
      if (leftSec < 1) break;
      status.asking(id, attempt, ASK_TRIES);
      log.info({ volume: config.volume, id, attempt, timeoutSec: leftSec }, `asking for a recovery key or passphrase for ${config.volume} (${id}, ${leftSec} s)`);
      const message = attempt === 1
        ? `Recovery key or passphrase for ${config.volume} (${device}), AWS did not give one:`
        : `That key opens nothing on ${device}. Recovery key or passphrase for ${config.volume} (try ${attempt} of ${ASK_TRIES}):`;
      const answer = await deps.askPassword!({ id, message, timeoutSec: leftSec, signal: stopAsking.signal });
      if ('none' in answer) {
        if (!stopAsking.signal.aborted) log.info({ volume: config.volume, id }, `no key was typed for ${config.volume}: ${answer.none}`);
        status.notAsking();
        return { opened: false };
      }
      const result = await tryOpen(normalizeTypedKey(answer.key), { source: TYPED_KEY_SOURCE, version: undefined, region: undefined });
      if (result === 'opened') {
        log.info({ volume: config.volume, device, source: TYPED_KEY_SOURCE }, `opened ${device} as ${mapperPath(config.mapName)} with a typed key`);
        stopAws.abort();
        return { opened: true };
      }
      if (result === 'late') return { opened: true };
      log.warn({ volume: config.volume, device, attempt }, `the typed key opens no keyslot of ${device} (try ${attempt} of ${ASK_TRIES})`);
    }
    status.notAsking();
    if (opened !== undefined) return { opened: true };
    stopAws.abort();
    return {
      opened: false,
      error: new UnlockError('WRONG_PASSPHRASE', `No keyslot of ${device} opens with the key typed (${ASK_TRIES} tries)`, {
        hint: `type the recovery key (luks-ssm recovery-key ${config.volume} made it) or another passphrase of the volume`,
      }),
    };
  };

  const awsTask = async (): Promise<Outcome> => {
    let tried = 0;
    let newline = false;
    try {
      const keys = source.keys(deadline, {
        signal: stopAws.signal,
        onRetry: (notice) => {
          status.aws(notice);
          startAsking();
        },
      });
      for await (const key of keys) {
        tried += 1;
        const { secret, ...about } = key;
        deps.log.info({ volume: config.volume, device, source: about.source, version: about.version }, `fetched ${describeKey(about)}, opening ${device}`);
        status.awsDone(`opening ${device} with ${describeKey(about)}`);
        newline ||= endsWithNewline(secret);
        const result = await tryOpen(secret, about);
        if (result === 'late') return { opened: true };
        if (result === 'opened') {
          deps.log.info({ volume: config.volume, device, source: about.source, version: about.version }, `opened ${device} as ${mapperPath(config.mapName)} with ${describeKey(about)}`);
          stopAsking.abort();
          return { opened: true };
        }
        deps.log.warn({ volume: config.volume, device, source: about.source, version: about.version }, `${describeKey(about)} opens no keyslot of ${device}`);
      }
      return {
        opened: false,
        error: new UnlockError('WRONG_PASSPHRASE', `No keyslot of ${device} opens with ${source.description} (${tried} version${tried === 1 ? '' : 's'} tried)`, {
          hint: newline ? TRAILING_NEWLINE_HINT : 'check SSM_PATH and SSM_PARAMETER_VERSION/LABEL; `luks-ssm check` shows which key the parameter holds',
        }),
      };
    } catch (error) {
      if (stopAws.signal.aborted) return { opened: opened !== undefined };
      // cryptsetup itself failing, or the host lock not coming in time, is not the key source's failure: a typed
      // key would fail the same way.
      if (openFailures.has(error) || (isUnlockError(error) && (error.kind === 'SYSTEM' || error.kind === 'SLOT_TOO_COSTLY' || error.kind === 'LOCKED'))) throw error;
      return { opened: false, error };
    }
  };

  const ticker = setInterval(() => status.refresh(), 5_000);
  ticker.unref();
  try {
    const aws = await awsTask();
    if (!aws.opened) {
      // AWS is done for this start (a refusal, or no version opens): from here only the question is waited for.
      status.awsDone(`AWS gave no key that opens ${device} (${aws.error instanceof Error ? aws.error.message : 'unknown'}), not retrying`);
      // Said before the question, not only once it is answered or times out: whoever is asked should know why (review 8).
      if (askingOrCanAsk() && aws.error instanceof Error) {
        const hint = isUnlockError(aws.error) && aws.error.hint ? ` (${aws.error.hint})` : '';
        log.warn({ volume: config.volume, device }, `AWS gave no key for ${config.volume}: ${aws.error.message}${hint}; only a typed key can open ${device} now`);
      }
      startAsking();
    }
    const asked = asking === undefined ? undefined : await asking;
    if (opened !== undefined) return opened;
    throw (asked && !asked.opened ? asked.error : undefined) ?? (aws.opened ? undefined : aws.error) ?? new UnlockError('TIMEOUT', `No key opened ${device} before the deadline`);
  } finally {
    clearInterval(ticker);
    stopAws.abort();
    stopAsking.abort();
    if (asking !== undefined) await asking;
  }
}

/** The error a failed open ends start with: with the figures, or with what took the disk, where that is the cause. */
async function openFailure(deps: VolumeDeps, config: VolumeConfig, device: string, error: unknown): Promise<unknown> {
  if (!isUnlockError(error)) return error;
  // Out of memory for the slot's argon2: the same at every try and with every key, so one line and stop.
  if (error.kind === 'SLOT_TOO_COSTLY') return explainTooCostly(deps, config, device, error, `open ${device}`);
  // Taken by something outside luks-ssm's locks since start looked (a late crypttab open): say what, not "busy".
  if (error.kind === 'SYSTEM') return refuseIfInUse(device, config, deps).then(() => error, (inUse: unknown) => inUse);
  return error;
}

function describeKey(key: OpenedKey): string {
  return `${key.source}${key.version === undefined ? '' : ` version ${key.version}`}`;
}
