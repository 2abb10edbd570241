// Busy mount: a shell job sitting in the mount point makes stop refuse, name the holder and change nothing.
import { expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';

export const busyMount: Scenario = {
  name: '04-busy-mount',
  needsProduct: true,
  async run(ctx) {
    await ctx.ensureBooted();
    expectSuccess(await ctx.vm.run('stop while busy', guestScript('04-busy-mount.sh', 'busy_stop'), 180_000), 'busy stop');
  },
};
