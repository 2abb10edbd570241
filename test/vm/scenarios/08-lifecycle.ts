// Key lifecycle in a real guest, for both key sources at once (ssm on the scratch disk, kms on the kms disk):
// enroll a blank disk, enable, reboot, rotate, reboot, and each still unlocks with the new key, data intact.
// Debian 11 and 13 start the units by hand instead of the reboot after enroll (enroll --format → rotate → reboot,
// what #11 asks of them): one boot less in each of their suites, ~80 s on 2 cores; Debian 12 pays for both.
import { DEFAULT_DISTRO } from '../lib/image.ts';
import { check, expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';

const VOLUMES = ['scratch', 'kmsvol'] as const;

export const lifecycle: Scenario = {
  name: '08-lifecycle',
  needsProduct: true,
  distros: ['bullseye', 'bookworm', 'trixie'],
  async run(ctx) {
    await ctx.ensureBooted();
    const enrolled = expectSuccess(await ctx.vm.run('enroll and enable', guestScript('08-lifecycle.sh', 'enroll_and_enable'), 600_000), 'enroll');
    for (const volume of VOLUMES) {
      check(enrolled.stdout.includes(`made a ext4 filesystem on /dev/mapper/${volume}`), `enroll made no filesystem for ${volume}: ${enrolled.stdout}`);
    }
    check(enrolled.stdout.split('formatted ').length - 1 >= VOLUMES.length, `enroll did not format both disks: ${enrolled.stdout}`);
    const unlocksFrom = ctx.emulator().requests().length;
    if (ctx.distro === DEFAULT_DISTRO) {
      expectSuccess(await ctx.vm.reboot(guestScript('08-lifecycle.sh', 'after_first_boot')), 'boot after enroll');
    } else {
      expectSuccess(await ctx.vm.run('start both', guestScript('08-lifecycle.sh', 'start_both'), 300_000), 'start after enroll');
    }
    const rotated = expectSuccess(await ctx.vm.run('rotate both', guestScript('08-lifecycle.sh', 'rotate_both'), 600_000), 'rotate');
    check(rotated.stdout.includes('removed key slot 0 (version 1)'), `ssm rotate removed no old slot: ${rotated.stdout}`);
    check(/removed key slot 0 \(token \d+\)/.test(rotated.stdout), `kms rotate removed no old slot: ${rotated.stdout}`);
    for (const volume of VOLUMES) {
      check(rotated.stdout.includes(`${volume} key slots after rotate: 1`), `expected one key slot of ${volume} after rotate: ${rotated.stdout}`);
    }
    expectSuccess(await ctx.vm.reboot(guestScript('08-lifecycle.sh', 'after_second_boot')), 'boot after rotate');
    const requests = ctx.emulator().requests();
    const puts = requests.filter((r) => r.service === 'ssm' && r.action === 'PutParameter' && r.status === 200);
    check(puts.length === 2, `expected 2 PutParameter (ssm enroll, rotate), the emulator saw ${puts.length}`);
    const decrypts = requests.slice(unlocksFrom).filter((r) => r.service === 'kms' && r.action === 'Decrypt' && r.status === 200);
    check(decrypts.length >= 2, `expected a KMS Decrypt at each of the 2 unlocks (after enroll, after rotate), the emulator served ${decrypts.length}`);
  },
};
