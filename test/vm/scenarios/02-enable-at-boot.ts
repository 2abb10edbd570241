// Enable at boot: `luks-ssm enable`, a real reboot, then the volume is open, mounted and its dependent ran in it.
import { check, expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';

export const enableAtBoot: Scenario = {
  name: '02-enable-at-boot',
  needsProduct: true,
  distros: ['bullseye', 'bookworm', 'trixie'],
  async run(ctx) {
    await ctx.ensureBooted();
    expectSuccess(await ctx.vm.run('configure and enable', guestScript('02-enable-at-boot.sh', 'configure_and_enable'), 300_000), 'enable');
    const before = ctx.emulator().requests().length;
    const boot = await ctx.vm.reboot(guestScript('02-enable-at-boot.sh', 'after_boot'));
    expectSuccess(boot, 'after reboot');
    const fetched = ctx.emulator().requests().slice(before).filter((r) => r.service === 'ssm' && r.status === 200);
    check(fetched.length > 0, 'the emulator served no successful SSM request during boot');
  },
};
