// `luks-ssm start` killed with SIGKILL between `cryptsetup open` and the mount (#14): the next start mounts.
import { expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';

export const killedStart: Scenario = {
  name: '17-killed-start',
  needsProduct: true,
  async run(ctx) {
    await ctx.ensureBooted();
    expectSuccess(await ctx.vm.run('start killed after open, before mount', guestScript('17-killed-start.sh', 'killed_start'), 300_000), 'killed start');
  },
};
