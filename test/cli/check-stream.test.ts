// check prints each step's line as that step ends (review 8, finding 9: all lines came in one block at the end).
import { afterEach, describe, expect, it } from 'vitest';
import { runVolumeVerb } from '../../src/cli/verbs.ts';
import type { createLazyBus } from '../../src/cli/wiring.ts';
import { Secret } from '../../src/secret/secret.ts';
import type { FetchedKey, KeySource } from '../../src/secret/source.ts';
import { createFakeSystem, fakeConfig, fakeDeps, type FakeSystem } from '../support/fake-system.ts';

const KEY = Buffer.from('s3cret value\n');
let sys: FakeSystem;
afterEach(() => sys?.cleanup());

/** A key source that hands out its key only when told: the key step is under way until then. */
function heldKeySource(): { source: KeySource; asked: Promise<void>; release(): void } {
  let asked!: () => void;
  let release!: () => void;
  const askedP = new Promise<void>((resolve) => (asked = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const source: KeySource = {
    description: 'SSM parameter /test/key',
    async *keys(): AsyncGenerator<FetchedKey> {
      asked();
      await released;
      yield { secret: Secret.copyOf(KEY), source: 'ssm:/test/key', version: 1, region: 'us-east-1' };
    },
  };
  return { source, asked: askedP, release };
}

describe('luks-ssm check output', () => {
  it('writes the lines of the steps before the key step while the key step is still under way, then the rest', async () => {
    sys = createFakeSystem(KEY);
    const held = heldKeySource();
    const { deps } = fakeDeps(sys, held.source);
    const config = fakeConfig(sys);
    const written: string[] = [];
    const io = { bus: {} as ReturnType<typeof createLazyBus>, stdout: (text: string | Buffer) => void written.push(String(text)) };
    const command = { verb: 'check' as const, volume: 'data', configFile: undefined, json: false, verbose: false };

    const running = runVolumeVerb(command, config, deps, io);
    await held.asked;
    const beforeKey = written.join('');
    expect(beforeKey).toBe(`ok    config   ${config.sources.join(', ')}\nok    device   ${sys.device}\nok    luks     LUKS header found\nok    mount    ${sys.mountPoint}: start can mount there\n`);

    held.release();
    expect(await running).toBe(0);
    const all = written.join('');
    expect(all.startsWith(beforeKey)).toBe(true);
    expect(all.slice(beforeKey.length)).toMatch(/^ok {4}key +ssm:\/test\/key version 1 \(us-east-1\): 13 bytes, opens key slot 0 of .*\nok {4}keyslot .*\nok {4}recovery .*\n$/);
  });
});
