// Clean reboot with the volume mounted: nothing forced at shutdown, the filesystem clean on the next boot.
// It checks the reboot that led to the current boot when that was a guest reboot (08-lifecycle's last one,
// with this volume mounted): a TCG boot costs 1-2 minutes. Otherwise it reboots by itself first.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';

/** systemd-shutdown's lines on the serial console: it unmounts or detaches only what the units left behind. */
function shutdownLeftovers(serialLog: string): string[] {
  const lines = readFileSync(serialLog, 'utf8').split('\n').filter((line) => /systemd-shutdown\[|\(sd-umount\)/.test(line));
  check(lines.some((line) => line.includes('All DM devices detached')), `no systemd-shutdown summary in ${serialLog}: no clean shutdown`);
  return lines.filter((line) => /Detaching DM \/dev|Unmounting '?\/srv\/data|Not all|Failed to/.test(line));
}

export const cleanReboot: Scenario = {
  name: '06-clean-reboot',
  needsProduct: true,
  distros: ['bullseye', 'bookworm', 'trixie'],
  async run(ctx) {
    const checks = guestScript('06-clean-reboot.sh', 'after_boot');
    let result;
    if (ctx.vm.isRunning() && ctx.vm.bootKind() === 'reboot') {
      ctx.progress(`checking the reboot that started boot ${ctx.vm.boot()}`);
      result = await ctx.vm.run('clean shutdown and mount', checks, 180_000);
    } else {
      await ctx.ensureBooted();
      expectSuccess(await ctx.vm.run('volume mounted before reboot', '. /mnt/host/product.sh; expect_mounted', 30_000), 'before reboot');
      result = await ctx.vm.reboot(checks);
    }
    const leftovers = shutdownLeftovers(join(ctx.workDir, `serial-boot-${ctx.vm.boot() - 1}.log`));
    check(leftovers.length === 0, `systemd-shutdown had to clean up: ${leftovers.join(' | ')}`);
    expectSuccess(result, 'clean reboot');
  },
};
