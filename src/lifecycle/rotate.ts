// `luks-ssm rotate`: add-first, remove-last. Each run first finishes whatever an interrupted run left, so it is resumable.
//
// Order (a crash after any step leaves a volume that start still opens, because start tries the newest key, then
// older ones — SSM history or older tokens — and an old key's slot is removed only after the new key is proven):
//   generate   KMS GenerateRandom; nothing stored yet.
//   store      PutParameter (Overwrite, a new version) in every region / a new token with no slot yet.
//   add-key    luksAddKey of the new key, authorised by the old one (both on stdin).
//   verify     the new key opens its slot (cryptsetup --test-passphrase).
//   bind       the token is assigned to the new slot (KMS only; a no-op for SSM).
//   remove-old luksKillSlot of each older key's slot (authorised by the new key), then its token goes.
import { UnlockError } from '../errors.ts';
import { addKey, killSlot, slotOpenedBy } from '../luks/keyslots.ts';
import type { VolumeConfig } from '../types.ts';
import { createReport, resolveLifecycleDevice, step, withLock, type LifecycleDeps, type LifecycleReport } from './steps.ts';
import { pbkdfForKey, wipeKeys, type KeyStore, type StoredKey } from './store.ts';
import { createStore } from './stores.ts';
import { authoriserOf, describeSurvey, isSettled, surveyKeys, type Survey } from './survey.ts';

export interface RotateOptions {
  dryRun?: boolean;
}

export async function rotateVolume(deps: LifecycleDeps, config: VolumeConfig, opts: RotateOptions = {}): Promise<LifecycleReport> {
  refuseUnrotatable(config);
  const device = await resolveLifecycleDevice(deps, config);
  return withLock(deps, config, device, async (deps) => {
    const store = createStore(config, deps, device);
    const survey = await surveyKeys(store, deps.run, device);
    if (survey === undefined) {
      throw new UnlockError('NOT_CONFIGURED', `${store.description} holds no key for ${device}: nothing to rotate`, { hint: `run luks-ssm enroll ${config.volume} first` });
    }
    const created: StoredKey[] = [];
    try {
      return await rotateFrom(deps, config, store, survey, device, opts, created);
    } finally {
      wipeKeys([...survey.keys, ...created]);
    }
  });
}

function refuseUnrotatable(config: VolumeConfig): void {
  if ((config.keySource ?? 'ssm') !== 'ssm') return;
  if (config.ssmSelector !== undefined) {
    throw new UnlockError('CONFIG', 'SSM_PARAMETER_VERSION/SSM_PARAMETER_LABEL pins the key start reads: a rotation would write a version start never tries, refusing', {
      hint: 'remove the pin first, or rotate by hand',
    });
  }
  if (config.ssmHistoryFallback === 0) {
    throw new UnlockError('CONFIG', 'SSM_HISTORY_FALLBACK=0: start could not fall back to the old key while a rotation is under way, refusing', {
      hint: 'set SSM_HISTORY_FALLBACK to 1 or more',
    });
  }
}

async function rotateFrom(deps: LifecycleDeps, config: VolumeConfig, store: KeyStore, survey: Survey, device: string, opts: RotateOptions, created: StoredKey[]): Promise<LifecycleReport> {
  const report = createReport();
  const settled = isSettled(survey);
  if (opts.dryRun) {
    for (const line of describeSurvey(survey)) report.say(`now: ${line}`);
    for (const line of planOf(survey, settled, device)) report.say(`would ${line}`);
    return report;
  }
  let target: StoredKey & { slot?: number | undefined } = survey.newest;
  let authoriser = settled ? survey.newest : authoriserOf(survey, device, store);
  let older = survey.olderInUse;
  if (settled) {
    const value = await store.generate();
    await step(deps, report, 'generate', 'generated a new passphrase with KMS GenerateRandom', async () => {});
    let stored: StoredKey | undefined;
    try {
      await step(deps, report, 'store', `stored the new passphrase in ${store.description}`, async () => {
        stored = await store.store(value, { create: false });
        created.push(stored);
      });
    } finally {
      if (stored === undefined) value.wipe();
    }
    target = { ...(stored as StoredKey), slot: undefined };
    authoriser = survey.newest;
    older = [survey.newest];
  } else {
    report.say(`resuming an interrupted rotation of ${device}`);
    if (survey.repairs.length > 0) await step(deps, report, 'store', survey.repairs.join('; '), () => store.repair(survey.newest));
  }
  if (target.slot === undefined) {
    await step(deps, report, 'add-key', `added ${target.label} to ${device}, authorised by ${authoriser.label}`,
      () => addKey(deps.run, device, authoriser.secret, target.secret, pbkdfForKey(config, target)));
  }
  const slot = await slotOpenedBy(deps.run, device, target.secret);
  if (slot === undefined) throw new UnlockError('SYSTEM', `${target.label} was added to ${device} but opens no key slot, stopping before removing anything`);
  await step(deps, report, 'verify', `${target.label} opens key slot ${slot} of ${device}`, async () => {});
  await step(deps, report, 'bind', `${target.label} is recorded for key slot ${slot}`, () => store.bind(target, slot));
  for (const old of older) {
    if (old.slot === undefined || old.slot === slot) continue;
    const oldSlot = old.slot;
    await step(deps, report, 'remove-old', `removed key slot ${oldSlot} (${old.label}) of ${device}`, async () => {
      await killSlot(deps.run, device, oldSlot, target.secret);
      await store.retire(old);
    });
  }
  for (const stale of survey.stale) {
    if (stale.tokenId === target.tokenId) continue;
    await step(deps, report, 'remove-old', `removed ${stale.label}, which opens nothing`, () => store.retire(stale));
  }
  return report;
}

function planOf(survey: Survey, settled: boolean, device: string): string[] {
  const target = settled ? 'a new passphrase' : survey.newest.label;
  return [
    ...(settled ? ['generate a new passphrase with KMS GenerateRandom', 'store it as the newest key'] : [`resume the interrupted rotation to ${survey.newest.label}`, ...survey.repairs]),
    ...(settled || survey.newest.slot === undefined ? [`add ${target} to a free key slot of ${device}`] : []),
    `verify ${target} opens its key slot`,
    ...(settled ? [survey.newest] : survey.olderInUse).map((k) => `remove key slot ${k.slot} (${k.label})`),
    ...survey.stale.map((k) => `remove ${k.label}, which opens nothing`),
  ];
}
