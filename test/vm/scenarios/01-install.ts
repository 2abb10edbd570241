// Installs the luks-ssm .deb in the guest with apt (its dependencies must already be in the image).
import { check, expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';

export const install: Scenario = {
  name: '01-install',
  needsProduct: true,
  distros: ['bullseye', 'bookworm', 'trixie'],
  async run(ctx) {
    await ctx.ensureBooted();
    const result = expectSuccess(await ctx.vm.run('apt-get install the .deb', guestScript('01-install.sh', 'install_deb'), 300_000), 'install');
    check(/luks-ssm \S+/.test(result.stdout), `luks-ssm --version printed no version: ${result.stdout}`);
  },
};
