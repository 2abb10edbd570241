// AWS unreachable at boot: the unit fails within its deadline, dependents wait, a later start succeeds.
import { expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';

export const awsUnreachable: Scenario = {
  name: '05-aws-unreachable',
  needsProduct: true,
  async run(ctx) {
    await ctx.ensureBooted();
    expectSuccess(await ctx.vm.run('short TIMEOUT_SEC', guestScript('05-aws-unreachable.sh', 'short_timeout'), 30_000), 'config');
    await ctx.stopEmulator();
    try {
      expectSuccess(await ctx.vm.reboot(guestScript('05-aws-unreachable.sh', 'first_failure')), 'boot without AWS');
    } finally {
      await ctx.restartEmulator();
    }
    expectSuccess(await ctx.vm.run('start with AWS back', guestScript('05-aws-unreachable.sh', 'recover'), 180_000), 'recover');
  },
};
