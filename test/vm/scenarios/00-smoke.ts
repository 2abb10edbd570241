// Smoke: proves the harness without the product (boot, 9p, network fence, EBS NVMe names, LUKS in the guest).
import { check, expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';

export const smoke: Scenario = {
  name: '00-smoke',
  needsProduct: false,
  distros: ['bullseye', 'bookworm', 'trixie'],
  async run(ctx) {
    await ctx.ensureBooted();
    const result = expectSuccess(await ctx.vm.run('smoke checks', guestScript('00-smoke.sh', 'smoke'), 120_000), 'smoke');
    check(result.stdout.includes('/dev/mapper/smoke ext4'), `LUKS mount not seen: ${result.stdout}`);
    check(result.stdout.includes('smoke ok'), 'smoke script did not finish');
  },
};
