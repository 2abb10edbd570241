// A config error present at boot: the generator skips the volume and its reason reaches the journal (kernel
// log, identifier luks-ssm-generator) on every systemd. Checks the current boot when 20-bad-config's file was
// already there when it began (08-lifecycle's reboots follow 20); otherwise writes it and reboots by itself.
import { expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';

/** 21's guest functions need 20's (the bad config and its expected reason): both files, then the call. */
function script(call: string): string {
  return guestScript('20-bad-config.sh', guestScript('21-bad-config-at-boot.sh', call));
}

export const badConfigAtBoot: Scenario = {
  name: '21-bad-config-at-boot',
  needsProduct: true,
  distros: ['bullseye', 'bookworm', 'trixie'],
  async run(ctx) {
    await ctx.ensureBooted();
    const state = expectSuccess(await ctx.vm.run('bad config there at boot?', script('bad_config_state'), 30_000), 'state');
    let result;
    if (state.stdout.trim() === 'present') {
      ctx.progress(`checking boot ${ctx.vm.boot()}, which began with the bad config in place`);
      result = await ctx.vm.run('generator records', script('generator_logged_at_boot'), 180_000);
    } else {
      expectSuccess(await ctx.vm.run('write the bad config', script('write_bad_config'), 30_000), 'write bad config');
      result = await ctx.vm.reboot(script('generator_logged_at_boot'));
    }
    expectSuccess(result, 'bad config at boot');
  },
};
