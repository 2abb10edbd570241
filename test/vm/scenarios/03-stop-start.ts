// Stop and start by hand: dependent stopped first, unmounted, mapping closed; a later start brings it all back,
// also with the device named by its LUKS UUID. After an umount by hand, a symlink chain put where the mount point was
// gets no mount from a RequiresMountsFor= unit's start: systemd never mounts the volume itself.
import { expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';

export const stopStart: Scenario = {
  name: '03-stop-start',
  needsProduct: true,
  distros: ['bullseye', 'bookworm', 'trixie'],
  async run(ctx) {
    await ctx.ensureBooted();
    expectSuccess(await ctx.vm.run('stop, then start', guestScript('03-stop-start.sh', 'stop_then_start'), 180_000), 'stop/start');
    expectSuccess(await ctx.vm.run('start with LUKS_DEVICE=UUID=', guestScript('03-stop-start.sh', 'start_by_uuid'), 180_000), 'start by UUID');
    expectSuccess(await ctx.vm.run('after an umount, a symlink chain gets no mount from systemd', guestScript('03-stop-start.sh', 'umount_then_symlink_chain'), 240_000), 'umount, then a symlink chain');
  },
};
