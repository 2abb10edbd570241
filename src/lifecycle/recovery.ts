// `luks-ssm recovery-key`: adds a recovery key a person can type, in its own key slot, marked by a systemd-recovery token.
//
// Order: authorise with the key start uses (the SSM key), add the recovery key (minimal KDF: it is 256 random bits),
// prove it opens its slot, record the token, show the key once, then remove older recovery slots (a replacement for
// a used key). A failure before the key is shown removes the new slot again: a key nobody saw must not stay.
import { UnlockError } from '../errors.ts';
import { MINIMAL_PBKDF } from '../luks/kdf.ts';
import { addKey, killSlot, readLuksHeader, slotOpenedBy } from '../luks/keyslots.ts';
import { describeRecoverySlot, recoverySlotsOf, recoveryTokenJson } from '../luks/recovery-token.ts';
import { freeTokenId, importToken, removeToken } from '../luks/token.ts';
import { makeRecoveryKey } from '../secret/recovery-key.ts';
import type { Secret } from '../secret/secret.ts';
import type { VolumeConfig } from '../types.ts';
import { createKeySource } from './key-source.ts';
import type { RecoveryOutput } from './recovery-output.ts';
import { createReport, resolveLifecycleDevice, step, withLock, type LifecycleDeps, type LifecycleReport } from './steps.ts';

export async function addRecoveryKey(deps: LifecycleDeps, config: VolumeConfig, output: RecoveryOutput): Promise<LifecycleReport> {
  try {
    const device = await resolveLifecycleDevice(deps, config);
    return await withLock(deps, config, device, (locked) => addWithLock(locked, config, output, device));
  } finally {
    await output.abandon();
  }
}

async function addWithLock(deps: LifecycleDeps, config: VolumeConfig, output: RecoveryOutput, device: string): Promise<LifecycleReport> {
  const report = createReport();
  const before = recoverySlotsOf(await readLuksHeader(deps.run, device));
  const authoriser = await currentKey(deps, config, device);
  const recovery = makeRecoveryKey();
  try {
    let slot: number | undefined;
    try {
      await step(deps, report, 'add-key', `added a recovery key to ${device}, authorised by ${authoriser.label}`,
        () => addKey(deps.run, device, authoriser.secret, recovery, MINIMAL_PBKDF));
      slot = await slotOpenedBy(deps.run, device, recovery);
      if (slot === undefined) throw new UnlockError('SYSTEM', `The recovery key was added to ${device} but opens no key slot`);
      const created = new Date(deps.clock.now()).toISOString();
      const tokenId = freeTokenId(await readLuksHeader(deps.run, device));
      const json = recoveryTokenJson(slot, created);
      const at = slot;
      await step(deps, report, 'bind', `recorded key slot ${slot} as a recovery key (LUKS2 token ${tokenId}, type systemd-recovery)`,
        () => importToken(deps.run, device, json, { tokenId }));
      await output.write(recovery, { volume: config.volume, device, slot: at });
      report.say(`the recovery key was ${output.done}`);
    } catch (error) {
      if (slot !== undefined) await rollback(deps, device, slot, authoriser.secret);
      throw error;
    }
    for (const old of before) {
      await step(deps, report, 'remove-old', `removed the older ${describeRecoverySlot(old)}`, async () => {
        await killSlot(deps.run, device, old.slot, authoriser.secret);
        await removeTokenIfPresent(deps, device, old.tokenId);
      });
    }
    return report;
  } finally {
    recovery.wipe();
    authoriser.secret.wipe();
  }
}

/** The first of start's keys that opens a slot: only someone holding the SSM key's access can add a recovery key. */
async function currentKey(deps: LifecycleDeps, config: VolumeConfig, device: string): Promise<{ label: string; secret: Secret }> {
  const source = createKeySource(config, { env: deps.env, clock: deps.clock, log: deps.log, run: deps.run, devRoot: deps.devRoot });
  let tried = 0;
  for await (const key of source.keys(deps.clock.now() + config.timeoutSec * 1000)) {
    tried += 1;
    if ((await slotOpenedBy(deps.run, device, key.secret)) !== undefined) {
      return { label: `${key.source}${key.version === undefined ? '' : ` version ${key.version}`}`, secret: key.secret };
    }
    key.secret.wipe();
  }
  throw new UnlockError('WRONG_PASSPHRASE', `No key of ${source.description} opens ${device} (${tried} tried), refusing to add a recovery key`, {
    hint: `luks-ssm check ${config.volume} shows what the key source holds`,
  });
}

async function rollback(deps: LifecycleDeps, device: string, slot: number, authoriser: Secret): Promise<void> {
  try {
    const header = await readLuksHeader(deps.run, device);
    for (const r of header.tokens.filter((t) => t.keyslots.includes(slot))) await removeToken(deps.run, device, r.id);
    await killSlot(deps.run, device, slot, authoriser);
  } catch (error) {
    deps.log.error({ device, slot }, `Failed to remove the unshown recovery key's key slot ${slot} of ${device} again: ${(error as Error).message}; remove it: cryptsetup luksKillSlot ${device} ${slot}`);
  }
}

/** luksKillSlot may have dropped the token with its last slot already (cryptsetup does for some versions). */
async function removeTokenIfPresent(deps: LifecycleDeps, device: string, tokenId: number): Promise<void> {
  const header = await readLuksHeader(deps.run, device);
  if (header.tokens.some((t) => t.id === tokenId)) await removeToken(deps.run, device, tokenId);
}
