// Clean reboot with the volume mounted: nothing forced at shutdown, the filesystem clean on the next boot.
import { expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';

export const cleanReboot: Scenario = {
  name: '06-clean-reboot',
  needsProduct: true,
  async run(ctx) {
    await ctx.ensureBooted();
    expectSuccess(await ctx.vm.run('volume mounted before reboot', '. /mnt/host/product.sh; expect_mounted', 30_000), 'before reboot');
    expectSuccess(await ctx.vm.reboot(guestScript('06-clean-reboot.sh', 'after_boot')), 'after reboot');
  },
};
