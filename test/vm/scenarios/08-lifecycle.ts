// Key lifecycle in a real guest: enroll a blank disk, enable, reboot, rotate, reboot, and it still unlocks.
import { check, expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';

export const lifecycle: Scenario = {
  name: '08-lifecycle',
  needsProduct: true,
  async run(ctx) {
    await ctx.ensureBooted();
    const enrolled = expectSuccess(await ctx.vm.run('enroll and enable', guestScript('08-lifecycle.sh', 'enroll_and_enable'), 300_000), 'enroll');
    check(enrolled.stdout.includes('formatted '), `enroll did not format: ${enrolled.stdout}`);
    check(enrolled.stdout.includes('made a ext4 filesystem on /dev/mapper/scratch'), `enroll made no filesystem: ${enrolled.stdout}`);
    const rotated = expectSuccess(await ctx.vm.reboot(guestScript('08-lifecycle.sh', 'after_first_boot')), 'boot after enroll, then rotate');
    check(rotated.stdout.includes('removed key slot 0 (version 1)'), `rotate removed no old slot: ${rotated.stdout}`);
    check(rotated.stdout.includes('key slots after rotate: 1'), `expected one key slot after rotate: ${rotated.stdout}`);
    expectSuccess(await ctx.vm.reboot(guestScript('08-lifecycle.sh', 'after_second_boot')), 'boot after rotate');
    const puts = ctx.emulator().requests().filter((r) => r.service === 'ssm' && r.action === 'PutParameter' && r.status === 200);
    check(puts.length === 2, `expected 2 PutParameter (enroll, rotate), the emulator saw ${puts.length}`);
  },
};
