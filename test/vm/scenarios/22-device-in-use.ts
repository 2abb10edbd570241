// A disk already open under another name (a second config naming it by UUID; an open by hand, as a crypttab line
// left behind does at boot): start refuses at once with DEVICE_IN_USE, naming the mapping, and touches nothing.
import { expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';

export const deviceInUse: Scenario = {
  name: '22-device-in-use',
  needsProduct: true,
  async run(ctx) {
    await ctx.ensureBooted();
    expectSuccess(await ctx.vm.run('a disk open under another name', guestScript('22-device-in-use.sh', 'device_in_use'), 420_000), 'device in use');
  },
};
