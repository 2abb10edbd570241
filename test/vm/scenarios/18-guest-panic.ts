// The harness itself: a guest kernel panic while a boot comes up prints its trace and starts that boot once more.
// Opt-in (`--only 18`; no product needed): it costs two boots, and it proves the harness, not luks-ssm.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { check, expectSuccess, type Scenario } from '../lib/scenario.ts';

export const guestPanic: Scenario = {
  name: '18-guest-panic',
  needsProduct: false,
  distros: ['bullseye', 'bookworm', 'trixie'],
  async run(ctx) {
    await ctx.ensureBooted();
    const marker = join(ctx.shareDir, 'panicked-once');
    rmSync(marker, { force: true });
    const retriedBefore = ctx.vm.bootsRetriedAfterPanic();
    const bootBefore = ctx.vm.boot();
    // The first start of the boot crashes its kernel (sysrq c); the marker on the share makes the second one boot.
    const result = await ctx.vm.reboot(
      [
        'if [ ! -e /mnt/host/panicked-once ]; then',
        '  touch /mnt/host/panicked-once; sync',
        '  echo 1 > /proc/sys/kernel/sysrq; echo c > /proc/sysrq-trigger',
        'fi',
        'echo "booted after the panic"',
      ].join('\n'),
    );
    expectSuccess(result, 'the boot started again');
    check(existsSync(marker), 'the first start of the boot never ran its script (no marker on the share)');
    check(result.stdout.includes('booted after the panic'), `the second start's script printed: ${result.stdout}`);
    check(ctx.vm.bootsRetriedAfterPanic() === retriedBefore + 1, `expected one boot started again, the harness counted ${ctx.vm.bootsRetriedAfterPanic() - retriedBefore}`);
    check(ctx.vm.boot() === bootBefore + 2, `expected two boots (the panic, then the one started again), saw ${ctx.vm.boot() - bootBefore}`);
    check(ctx.vm.bootKind() === 'fresh', 'a boot started again after a panic must count as a fresh start (the one before did not shut down)');
    rmSync(marker, { force: true });
  },
};
