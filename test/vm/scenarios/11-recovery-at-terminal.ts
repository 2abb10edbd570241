// A person at a terminal (#12 5b): AWS down, `systemctl start luks-ssm@data` in a pseudo-terminal, the recovery
// key typed at systemctl's own password agent → mounted, the key in neither journal nor disk; then ASK_PASSWORD=no
// → start fails with AWS's error and asks nobody. No boot of its own.
import { expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';

export const recoveryAtTerminal: Scenario = {
  name: '11-recovery-at-terminal',
  needsProduct: true,
  async run(ctx) {
    const step = (name: string, fn: string, ms: number) =>
      ctx.vm.run(name, guestScript('11-recovery-at-terminal.sh', fn), ms).then((r) => expectSuccess(r, name));
    await ctx.ensureBooted();
    await step('recovery key', 'enroll_recovery', 300_000);
    await ctx.stopEmulator();
    try {
      await step('systemctl start at a terminal, recovery key typed', 'terminal_start', 400_000);
      await step('ASK_PASSWORD=no: no question, AWS\'s error', 'ask_off', 300_000);
    } finally {
      await ctx.restartEmulator();
    }
    await step('usual config, dependent', 'restore', 120_000);
  },
};
