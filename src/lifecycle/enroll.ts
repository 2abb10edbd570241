// `luks-ssm enroll`: a new passphrase for a blank device (--format) or an existing LUKS volume (--add-to-existing).
//
// Order: the passphrase is stored first (SSM PutParameter in every region / KMS Encrypt), and only then does the device
// change (luksFormat or luksAddKey). A crash in between leaves a stored key that opens nothing yet, and the device as
// it was; running enroll again finds that key and resumes with it instead of generating another. The other order
// would leave a device that only a lost in-memory key opens. The exception is KMS with --format: the token can only
// be written once the LUKS header exists, so a crash between luksFormat and the token leaves a fresh, empty LUKS
// volume without a token, which enroll refuses to reformat (wipe it with wipefs -a and enroll again).
import { randomUUID } from 'node:crypto';
import { isUnlockError, UnlockError } from '../errors.ts';
import { isLuks } from '../luks/cryptsetup.ts';
import { describeContents, formatLuks2, isBlank, probeDevice } from '../luks/format.ts';
import { addKey, slotOpenedBy } from '../luks/keyslots.ts';
import { endsWithNewline, type Secret } from '../secret/secret.ts';
import type { VolumeConfig } from '../types.ts';
import { makeFilesystemOnVolume } from './mkfs.ts';
import type { KmsStore } from './kms-store.ts';
import { createReport, resolveLifecycleDevice, step, withLock, type LifecycleDeps, type LifecycleReport } from './steps.ts';
import { pbkdfForKey, wipeKeys, type KeyStore, type StoredKey } from './store.ts';
import { createStore } from './stores.ts';

export interface EnrollOptions {
  format?: boolean;
  addToExisting?: boolean;
  /**
   * --add-to-existing: gets a passphrase that opens the volume today (stdin, --existing-key-file or asked at a
   * terminal); called only once the device is known to be a LUKS volume that needs it, so nobody types a passphrase
   * for a device that is then refused. The secret it gives is enroll's to wipe.
   */
  existingKey?: () => Promise<Secret>;
  /** Write a new passphrase even though one is stored; with --format, also format over data without a signature. */
  force?: boolean;
  dryRun?: boolean;
  /** --format: make a LUKS_DEVICE_FS filesystem inside (needs device-mapper). */
  mkfs?: boolean;
}

type Report = ReturnType<typeof createReport>;

export async function enrollVolume(deps: LifecycleDeps, config: VolumeConfig, opts: EnrollOptions): Promise<LifecycleReport> {
  if (opts.format === opts.addToExisting) {
    throw new UnlockError('USAGE', 'enroll needs exactly one of --format (a blank device) and --add-to-existing (a LUKS volume)');
  }
  if (opts.addToExisting && opts.existingKey === undefined) throw new UnlockError('USAGE', '--add-to-existing needs the existing passphrase on stdin or in --existing-key-file');
  const device = await resolveLifecycleDevice(deps, config);
  return withLock(deps, config, device, async (deps) => {
    const report = createReport();
    const store = createStore(config, deps, device);
    const luks = await isLuks(deps.run, device);
    if (opts.format && !luks) await refuseUnlessBlank(deps, device, opts.force ?? false);
    if (opts.addToExisting && !luks) {
      throw new UnlockError('NOT_LUKS', `${device} is not a LUKS volume, refusing`, { hint: 'for a blank device use --format' });
    }
    const stored = await storedKeys(store, luks || (config.keySource ?? 'ssm') === 'ssm');
    let existing: Secret | undefined;
    try {
      if (luks && (await alreadyEnrolled(deps, report, store, stored, device))) {
        if (opts.mkfs && !opts.dryRun) await makeFilesystemOnVolume(deps, config, device, (stored[0] as StoredKey).secret, report);
        return report;
      }
      if (opts.format && luks) {
        throw new UnlockError('MOUNT_REFUSED', `${device} already holds a LUKS volume that no key in ${store.description} opens, refusing to format it`, {
          hint: 'take it over with --add-to-existing; or, if an earlier enroll --format was interrupted, wipe it (wipefs -a) and enroll again',
        });
      }
      if (opts.addToExisting) {
        // Tested before the plan too: a dry run with a wrong existing passphrase fails as the real run would (review 8).
        existing = await (opts.existingKey as () => Promise<Secret>)();
        const slot = await slotOfExisting(deps, device, existing);
        if (opts.dryRun) report.say(`the existing passphrase opens key slot ${slot} of ${device}`);
      }
      if (opts.dryRun) return planOnly(report, store, stored, device, opts);
      const reuse = stored.length > 0 && !opts.force ? stored[0] : undefined;
      if (reuse !== undefined) report.say(`${store.description} already holds ${reuse.label}, which opens nothing on ${device} yet: using it (pass --force for a new one)`);
      const target = opts.format
        ? await formatWith(deps, config, report, store, device, reuse, stored.length === 0)
        : await addWith(deps, config, report, store, device, reuse, existing as Secret, stored.length === 0);
      stored.push(target);
      const slot = await slotOpenedBy(deps.run, device, target.secret);
      if (slot === undefined) throw new UnlockError('SYSTEM', `${target.label} was written to ${device} but opens no key slot`);
      await step(deps, report, 'verify', `${target.label} opens key slot ${slot} of ${device}`, async () => {});
      await step(deps, report, 'bind', `${target.label} is recorded for key slot ${slot}`, () => store.bind(target, slot));
      if (opts.mkfs) await makeFilesystemOnVolume(deps, config, device, target.secret, report, { formattedNow: opts.format === true });
      return report;
    } finally {
      wipeKeys(stored);
      existing?.wipe();
    }
  });
}

async function refuseUnlessBlank(deps: LifecycleDeps, device: string, force: boolean): Promise<void> {
  const contents = await probeDevice(deps.run, device);
  if (isBlank(contents) || (force && contents.signatures.length === 0)) return;
  throw new UnlockError('MOUNT_REFUSED', `${device} is not blank (it has ${describeContents(contents)}), refusing to format it`, {
    hint: contents.signatures.length === 0 ? 'if you are sure it holds nothing, pass --force' : 'luks-ssm never formats a device with a signature on it',
  });
}

/** Keys already stored; "none" when the parameter does not exist yet or the device has no header to hold tokens. */
async function storedKeys(store: KeyStore, readable: boolean): Promise<StoredKey[]> {
  if (!readable) return [];
  try {
    return await store.list();
  } catch (error) {
    if (isUnlockError(error) && error.kind === 'AWS_NOT_FOUND') return [];
    throw error;
  }
}

async function alreadyEnrolled(deps: LifecycleDeps, report: Report, store: KeyStore, stored: StoredKey[], device: string): Promise<boolean> {
  for (const key of stored) {
    const slot = await slotOpenedBy(deps.run, device, key.secret);
    if (slot === undefined) continue;
    if (key !== stored[0]) return false;
    report.say(`${device} is already enrolled: ${key.label} of ${store.description} opens key slot ${slot}`);
    const repairs = await store.pendingRepairs(key);
    if (repairs.length > 0) await step(deps, report, 'store', repairs.join('; '), () => store.repair(key));
    return true;
  }
  return false;
}

function planOnly(report: Report, store: KeyStore, stored: StoredKey[], device: string, opts: EnrollOptions): Report {
  const reuse = stored.length > 0 && !opts.force;
  report.say(reuse ? `would use ${stored[0]?.label} of ${store.description}` : `would generate a passphrase with KMS GenerateRandom and store it in ${store.description}`);
  report.say(opts.format ? `would format ${device} as LUKS2 with it` : `would add it to a free key slot of ${device}, authorised by the existing passphrase`);
  report.say('would verify it opens its key slot');
  if (opts.mkfs) report.say(`would make a filesystem inside`);
  return report;
}

async function formatWith(deps: LifecycleDeps, config: VolumeConfig, report: Report, store: KeyStore, device: string, reuse: StoredKey | undefined, create: boolean): Promise<StoredKey> {
  if ((config.keySource ?? 'ssm') === 'kms') {
    // KMS: encrypt for a UUID chosen now (KMS failures stop us before the device is touched), format, then the token.
    const kms = store as KmsStore;
    const value = await kms.generate();
    const uuid = randomUUID();
    const data = await kms.encrypt(value, uuid);
    await step(deps, report, 'format', `formatted ${device} as LUKS2 (UUID ${uuid})`, () => formatLuks2(deps.run, device, value, { uuid, pbkdf: pbkdfForKey(config, { secret: value }) }));
    let tokenId = -1;
    await step(deps, report, 'store', `stored the passphrase as KMS ciphertext in a LUKS2 token of ${device}`, async () => {
      tokenId = await kms.writeToken(data, 0);
    });
    return { label: `token ${tokenId}`, secret: value, tokenId, keyslots: [0] };
  }
  const target = reuse ?? (await storeNew(deps, report, store, create));
  await step(deps, report, 'format', `formatted ${device} as LUKS2 with ${target.label}`, () => formatLuks2(deps.run, device, target.secret, { pbkdf: pbkdfForKey(config, target) }));
  return target;
}

/** For `echo secret | luks-ssm enroll …`: the line break is part of the key (cryptsetup --key-file reads it so too). */
export const EXISTING_KEY_NEWLINE_HINT =
  "it ends with a line break, which counts as part of it: if the volume's passphrase has none, give it without " +
  "(printf '%s' 'passphrase' | …, not echo; or a key file with no newline at its end)";

/** The key slot the existing passphrase opens (cryptsetup open --test-passphrase: reads the header, changes nothing). */
async function slotOfExisting(deps: LifecycleDeps, device: string, existing: Secret): Promise<number> {
  const slot = await slotOpenedBy(deps.run, device, existing);
  if (slot !== undefined) return slot;
  throw new UnlockError('WRONG_PASSPHRASE', `The existing passphrase given opens no key slot of ${device}, refusing`,
    endsWithNewline(existing) ? { hint: EXISTING_KEY_NEWLINE_HINT } : {});
}

async function addWith(deps: LifecycleDeps, config: VolumeConfig, report: Report, store: KeyStore, device: string, reuse: StoredKey | undefined, existing: Secret, create: boolean): Promise<StoredKey> {
  const target = reuse ?? (await storeNew(deps, report, store, create));
  await step(deps, report, 'add-key', `added ${target.label} to ${device}, authorised by the existing passphrase`,
    () => addKey(deps.run, device, existing, target.secret, pbkdfForKey(config, target)));
  return target;
}

async function storeNew(deps: LifecycleDeps, report: Report, store: KeyStore, create: boolean): Promise<StoredKey> {
  const value = await store.generate();
  let stored: StoredKey | undefined;
  try {
    await step(deps, report, 'store', `stored a new passphrase from KMS GenerateRandom in ${store.description}`, async () => {
      stored = await store.store(value, { create });
    });
  } finally {
    if (stored === undefined) value.wipe();
  }
  return stored as StoredKey;
}
