// deferKeySource: the source is built on first use; a warm-up reaches it once built, and a stopped one never starts.
import { describe, expect, it } from 'vitest';
import { deferKeySource, type FetchedKey, type KeySource } from '../../src/secret/source.ts';
import { Secret } from '../../src/secret/secret.ts';

function recordingSource(events: string[]): KeySource {
  return {
    description: 'SSM parameter /x',
    warmUp: (deadline) => {
      events.push(`warm-up until ${deadline}`);
      return { stop: () => events.push('stop') };
    },
    async *keys(): AsyncGenerator<FetchedKey> {
      events.push('keys');
      yield { secret: Secret.copyOf(Buffer.from('k')), source: 'ssm:/x', version: 1, region: 'us-east-1' };
    },
  };
}

describe('deferKeySource', () => {
  it('passes a warm-up to the source once loaded, before keys() asks it for a key', async () => {
    const events: string[] = [];
    const source = deferKeySource(async () => recordingSource(events));
    const warm = source.warmUp?.(1234);
    const keys = source.keys(1234);
    const first = await keys.next();
    (first.value as FetchedKey).secret.wipe();
    await keys.return(undefined);
    warm?.stop();
    expect(events).toEqual(['warm-up until 1234', 'keys', 'stop']);
    expect(source.description).toBe('SSM parameter /x');
  });

  it('a warm-up stopped before the source is loaded never starts', async () => {
    const events: string[] = [];
    let finishLoad!: () => void;
    const loaded = new Promise<void>((resolve) => (finishLoad = resolve));
    const source = deferKeySource(async () => (await loaded, recordingSource(events)));
    source.warmUp?.(1)?.stop();
    finishLoad();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(events).toEqual([]);
  });
});
