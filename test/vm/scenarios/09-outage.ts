// Outages (#12): AWS down at boot and back ~60 s later, AWS never back, and a person answering the password
// question (recovery key, wrong key, AWS answering first, the waiting STATUS= line).
import { expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';

/** From the host's `systemctl reboot` (the guest's shutdown takes a part of it): past the login gate's 45 s. */
const BACK_AFTER_MS = 75_000;

export const outage: Scenario = {
  name: '09-outage',
  needsProduct: true,
  async run(ctx) {
    const step = (name: string, fn: string, ms = 300_000) => ctx.vm.run(name, guestScript('09-outage.sh', fn), ms).then((r) => expectSuccess(r, name));
    await ctx.ensureBooted();
    await step('outage config', 'setup_outage');

    // AWS down at boot, back ~60 s after the reboot began.
    await ctx.stopEmulator();
    let restarted: Promise<void> | undefined;
    const back = setTimeout(() => {
      restarted = ctx.restartEmulator();
      restarted.then(() => ctx.progress('emulator back (AWS reachable again)'), () => {});
    }, BACK_AFTER_MS);
    try {
      expectSuccess(await ctx.vm.reboot(guestScript('09-outage.sh', 'outage_boot')), 'boot with AWS back after ~75 s');
    } finally {
      clearTimeout(back);
      await (restarted ?? ctx.restartEmulator());
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

    // AWS never back at boot.
    await step('short budget', 'never_back_config');
    await ctx.stopEmulator();
    try {
      expectSuccess(await ctx.vm.reboot(guestScript('09-outage.sh', 'never_back')), 'boot with AWS never back');
    } finally {
      await ctx.restartEmulator();
    }
  },
};
