// #10 item 11: a name from config that looks like an option (LUKS_DEVICE_MAP=--test-passphrase) must reach
// cryptsetup, mount and umount as a name: every call ends its options with -- before any positional argument.
import { afterEach, describe, expect, it } from 'vitest';
import { startVolume } from '../../src/volume/start.ts';
import { stopVolume } from '../../src/volume/stop.ts';
import { readVolumeStatus } from '../../src/volume/status.ts';
import { createFakeSystem, fakeConfig, fakeDeps, keysSource, type FakeSystem } from '../support/fake-system.ts';

const KEY = Buffer.from('k3y');
let sys: FakeSystem;
afterEach(() => sys?.cleanup());

describe('options end before names from config', () => {
  it('start, status and stop put -- before the device, the mapping name and the mount target', async () => {
    sys = createFakeSystem(KEY);
    // Validation refuses such a name (config/validate.ts); this is the second guard, should one slip through.
    const config = fakeConfig(sys, { mapName: '--test-passphrase' });
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 1 }]));
    await startVolume(deps, config);
    await readVolumeStatus(deps, config, async () => []);
    await stopVolume(deps, config);

    expect(sys.calls.length).toBeGreaterThan(5);
    for (const call of sys.calls) {
      const shown = `${call.file} ${call.args.join(' ')}`;
      const end = call.args.indexOf('--');
      expect(end, shown).toBeGreaterThanOrEqual(0);
      const options = call.args.slice(0, end);
      expect(options, shown).not.toContain('--test-passphrase');
      expect(options, shown).not.toContain(sys.device);
      expect(call.args.slice(end + 1).every((arg) => !arg.startsWith('-') || arg === config.mapName), shown).toBe(true);
    }
  });
});
