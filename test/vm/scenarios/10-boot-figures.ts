// The boot critical path, measured on every run: the unlock 02-enable-at-boot's reboot did at boot, split into
// process start → key in hand, cryptsetup open and mount, beside `node -e 0` and a bare open + mount of the same
// disk in the same boot. Prints the figures and boot_overhead_vs_node=N (README: "Boot time").
import { check, expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';

export const bootFigures: Scenario = {
  name: '10-boot-figures',
  needsProduct: true,
  // Debian 12 only: ~80-100 s a suite, and with Debian 11 and 13 in CI the 45-minute budget has no room for it there.
  distros: ['bookworm'],
  async run(ctx) {
    check(ctx.vm.isRunning() && ctx.vm.bootKind() === 'reboot', 'needs the boot 02-enable-at-boot rebooted into (run it with 01 and 02 before it)');
    const figures = expectSuccess(await ctx.vm.run('boot figures', guestScript('10-boot-figures.sh', 'boot_figures'), 480_000), 'boot figures');
    const lines = figures.stdout.split('\n').filter((line) => line.startsWith('boot_'));
    for (const line of lines) ctx.progress(line);
    for (const name of ['boot_overhead_vs_node', 'boot_restart_warm_overhead_vs_node']) {
      check(lines.some((line) => new RegExp(`^${name}=-?\\d+\\.\\d\\d$`).test(line)), `no ${name} line in: ${figures.stdout.trim().split('\n').slice(-5).join(' | ')}`);
    }
    const span = /^boot_overhead_vs_node_span=(-?\d+\.\d\d)\.\.(-?\d+\.\d\d) /.exec(lines.find((line) => line.startsWith('boot_overhead_vs_node_span=')) ?? '');
    check(span !== null && Number(span[1]) <= Number(span[2]), `no boot_overhead_vs_node_span=LOW..HIGH line in: ${lines.join(' | ')}`);
  },
};
