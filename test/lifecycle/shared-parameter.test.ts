// enroll and rotate refuse a parameter another volume's config names (review 16: a copied config's SSM_PATH), before
// anything is read, asked or changed; a shared mapping or mount point is check's to report, not theirs to refuse.
import { afterEach, describe, expect, it } from 'vitest';
import type { SharedSetting } from '../../src/config/shared.ts';
import { runLifecycleVerb } from '../../src/lifecycle/cli.ts';
import type { LifecycleFlags } from '../../src/lifecycle/args.ts';
import { UnlockError } from '../../src/errors.ts';
import { createFakeSystem, fakeConfig, fakeDeps, keysSource, type FakeSystem } from '../support/fake-system.ts';

const FLAGS: LifecycleFlags = { apply: false, format: false, addToExisting: false, existingKeyFile: undefined, force: false, dryRun: false, mkfs: false, recoveryKey: false, output: undefined };
const PARAMETER: SharedSetting = { key: 'SSM_PATH', value: '/luks/data', volume: 'data', file: '/etc/luks-ssm/data.conf' };
const MAPPING: SharedSetting = { key: 'LUKS_DEVICE_MAP', value: 'data', volume: 'data', file: '/etc/luks-ssm/data.conf' };
let sys: FakeSystem;
afterEach(() => sys?.cleanup());

async function runWith(verb: 'enroll' | 'rotate', flags: Partial<LifecycleFlags>, shared: SharedSetting[]) {
  sys = createFakeSystem(Buffer.from('k'));
  const { deps } = fakeDeps(sys, keysSource([{ bytes: Buffer.from('k'), version: 1 }]), { sharedSettings: async () => shared });
  const printed: string[] = [];
  const result = await runLifecycleVerb(verb, { ...FLAGS, ...flags }, fakeConfig(sys, { volume: 'logs' }), deps, { stdout: (t) => void printed.push(String(t)), env: {} })
    .catch((error: unknown) => error);
  return { result, printed };
}

describe('a parameter shared with another volume', () => {
  it.each([
    ['rotate', {}],
    ['enroll', { format: true }],
    ['enroll', { addToExisting: true }],
    ['rotate', { dryRun: true }],
  ] as const)('%s %o refuses with 78 naming the other volume, running nothing', async (verb, flags) => {
    const { result, printed } = await runWith(verb, flags, [PARAMETER, MAPPING]);
    expect(result).toBeInstanceOf(UnlockError);
    expect(result).toMatchObject({ exitCode: 78, message: expect.stringContaining("SSM_PATH=/luks/data is also volume 'data''s (/etc/luks-ssm/data.conf)") });
    expect((result as UnlockError).message).not.toContain('LUKS_DEVICE_MAP');
    expect(sys.calls).toEqual([]);
    expect(printed).toEqual([]);
  });

  it('lets rotate run when only the mapping is shared', async () => {
    const { result } = await runWith('rotate', { dryRun: true }, [MAPPING]);
    expect(result).not.toMatchObject({ exitCode: 78, message: expect.stringContaining('is also volume') });
  });
});
