// Outages (#12): AWS down at boot and back 60 s after the unlock first failed, and a person answering the password
// question (recovery key, wrong key, AWS answering first, the waiting STATUS= line). AWS never back at boot is
// 05-aws-unreachable's boot (default suite): a second AWS-down boot here cost ~2.5 min for the same checks.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expectSuccess, guestScript, type Scenario, type ScenarioContext } from '../lib/scenario.ts';

/** AWS stays down this long after the guest saw the unlock fail an attempt: past the login gate's 45 s. */
const BACK_AFTER_SEEN_MS = 60_000;
/** The file the guest's outage_boot creates on the share once the unit shows a failed AWS attempt. */
const AWS_DOWN_SEEN = 'aws-down-seen';

/**
 * Restarts the emulator 60 s after the guest reports the outage was seen, so AWS is down for the unlock's first
 * minute whatever the guest's shutdown and boot take under TCG. Resolves false, with no restart, when aborted.
 */
async function bringAwsBackAfterSeen(ctx: ScenarioContext, signal: AbortSignal): Promise<boolean> {
  const seen = join(ctx.shareDir, AWS_DOWN_SEEN);
  try {
    const until = Date.now() + 600_000;
    while (!existsSync(seen)) {
      if (Date.now() > until) return false;
      await sleep(1_000, undefined, { signal });
    }
    ctx.progress(`guest saw the unlock fail against the stopped emulator: AWS back in ${BACK_AFTER_SEEN_MS / 1000} s`);
    await sleep(BACK_AFTER_SEEN_MS, undefined, { signal });
  } catch {
    return false; // aborted: the boot script ended first
  }
  await ctx.restartEmulator();
  ctx.progress('emulator back (AWS reachable again)');
  return true;
}

export const outage: Scenario = {
  name: '09-outage',
  needsProduct: true,
  async run(ctx) {
    const step = (name: string, fn: string, ms = 300_000) => ctx.vm.run(name, guestScript('09-outage.sh', fn), ms).then((r) => expectSuccess(r, name));
    await ctx.ensureBooted();
    await step('outage config', 'setup_outage');

    // AWS down at boot, back a minute after the unlock first failed.
    await ctx.stopEmulator();
    rmSync(join(ctx.shareDir, AWS_DOWN_SEEN), { force: true });
    const stop = new AbortController();
    const back = bringAwsBackAfterSeen(ctx, stop.signal);
    try {
      expectSuccess(await ctx.vm.reboot(guestScript('09-outage.sh', 'outage_boot')), 'boot with AWS back 60 s after the first failure');
    } finally {
      stop.abort();
      if (!(await back.catch(() => false))) await ctx.restartEmulator();
    }

    // (a), (c), (e): a person answers from inside the guest while AWS is down.
    await step('recovery key', 'enroll_recovery');
    await ctx.stopEmulator();
    try {
      await step('typed recovery key', 'typed_key');
      await step('wrong key three times', 'wrong_key');
      // (d): the question is open, then AWS answers.
      await step('question open', 'question_open');
    } finally {
      await ctx.restartEmulator();
    }
    await step('AWS answers first', 'aws_back_first');
  },
};
