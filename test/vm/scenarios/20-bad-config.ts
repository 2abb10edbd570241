// A bad config (a typo) is refused by `check` and by the unit with one line naming file:line, in the journal.
import { expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';

export const badConfig: Scenario = {
  name: '20-bad-config',
  needsProduct: true,
  distros: ['bullseye', 'bookworm', 'trixie'],
  async run(ctx) {
    await ctx.ensureBooted();
    expectSuccess(await ctx.vm.run('check and start a bad config', guestScript('20-bad-config.sh', 'refused_with_reason'), 120_000), 'bad config');
  },
};
